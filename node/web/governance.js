// Governance: open proposals with live tallies, voting, the rules and their history.
import { optional } from "./api.js";
import { h } from "./ui.js";
import { notOnThisNode } from "./pending.js";

export async function governancePage(view) {
  const found = await optional("/api/v1/governance/proposals");
  if (found === null) { notOnThisNode(view, "Governance", "governance"); return null; }
  view.append(h("h1", {}, "Governance"), h("pre", {}, JSON.stringify(found, null, 2)));
  return null;
}
