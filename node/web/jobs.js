// Jobs near me: offer a job, see matching labs and their quotes, follow the lifecycle.
import { optional } from "./api.js";
import { h } from "./ui.js";
import { notOnThisNode } from "./pending.js";

export async function jobsPage(view) {
  const found = await optional("/api/v1/jobs");
  if (found === null) { notOnThisNode(view, "Jobs near me", "jobs"); return null; }
  view.append(h("h1", {}, "Jobs near me"), h("pre", {}, JSON.stringify(found, null, 2)));
  return null;
}
