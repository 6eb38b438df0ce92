// Governance: proposals with their live tallies, voting, the rules in force and their
// history (specs/0008). Tallies are the node's: counted on witness time, not ours.
import { ApiError, get, optional, post, truncated } from "./api.js";
import { busy, errorBox, h, replace, short, when } from "./ui.js";
import { notOnThisNode } from "./pending.js";
import { loadNames, nameOf, who } from "./names.js";
import * as checks from "./checks.js";
import { submitChecked } from "./checks.js";

const CHOICES = ["yes", "no", "abstain", "veto"];

export async function governancePage(view) {
  let listed;
  try {
    listed = await optional("/api/v1/governance/proposals");
  } catch (e) {
    if (e instanceof ApiError && e.code === "misuse.no-federation") {
      view.append(h("h1", {}, "Governance"), h("p", { class: "card", role: "status" },
        "This node is on a development network, which has no charter: nothing to govern. Create or join a federation (fabnode federation create, fabnode join) to vote."));
      return null;
    }
    throw e;
  }
  if (listed === null) { notOnThisNode(view, "Governance", "governance"); return null; }
  const body = h("div", {});
  view.append(h("h1", {}, "Governance"), body);
  // Votes cast from this page: a card re-rendered by a refresh keeps saying so until
  // the node's tally shows the vote (it counts on witness time, which may lag).
  const voted = new Map();
  let propose = null;
  const refresh = async () => {
    try {
      const [props, members, rules, history] = await Promise.all([
        get("/api/v1/governance/proposals"), get("/api/v1/governance/members"),
        get("/api/v1/governance/rules"), get("/api/v1/governance/rules/history"), loadNames(),
      ]);
      // One propose form for the page's life: a refresh (every 10 s) keeps what is typed in it.
      propose ??= proposeForm(refresh, rules.rules);
      replace(body, render(props, members, rules, history, refresh, voted, propose));
    } catch (e) { replace(body, errorBox(e)); }
  };
  await refresh();
  let pending = null;
  const onEntries = (event) => {
    if (!truncated(event) && !event.detail.entries.some((e) => e.kind.startsWith("governance.") || e.kind.startsWith("member."))) return;
    if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 300);
  };
  const timer = setInterval(refresh, 10000);  // witness time moves on: deadlines pass
  window.addEventListener("fab:entries", onEntries);
  return () => { clearInterval(timer); window.removeEventListener("fab:entries", onEntries); };
}

function render(props, members, rules, history, refresh, voted, propose) {
  const isMember = members.members.includes(members.me);
  const open = props.proposals.filter((p) => !p.tally.final);
  const closed = props.proposals.filter((p) => p.tally.final);
  return [
    h("p", { class: "muted" }, `${members.members.length} member(s)`, isMember ? " · you are a member" : " · you are not a member: you cannot vote",
      ` · node time ${when(props.now_s * 1000)}`),
    h("h2", {}, `Open proposals (${open.length})`),
    open.length ? h("ul", { class: "results", id: "open-proposals" }, open.map((p) => proposalCard(p, members, isMember, refresh, voted)))
      : h("p", { class: "muted" }, "No open proposal."),
    propose,
    applicationsSection(members, isMember, refresh, open),
    members.frozen?.length ? [h("h2", {}, "Frozen members"), h("ul", { id: "frozen-members" }, members.frozen.map((f) => h("li", {},
      who(f.identity), ` — forked at ${f.position}, since ${f.since_s ? when(f.since_s * 1000) : "?"} (${f.since || "unknown"}): not in the electorate until a vote lifts the freeze (proof `,
      h("code", { title: f.fork_proof }, short(f.fork_proof, 12)), ")")))] : null,
    h("h2", {}, "Rules in force"), rulesTable(rules.rules),
    h("h2", {}, "Rules history"),
    h("ol", { id: "rules-history" }, history.history.map((c) => h("li", {},
      c.proposal ? [h("strong", {}, c.title), ` (${c.action}) from ${when(c.effective_at_s * 1000)} · proposal `, h("code", {}, short(c.proposal, 12))]
        : h("strong", {}, "The charter's rules"),
      h("span", { class: "muted" }, ` · rules ${c.rules_hash.slice(0, 12)}`)))),
    closed.length ? [h("h2", {}, `Decided (${closed.length})`),
      h("ul", { class: "results" }, closed.map((p) => proposalCard(p, members, false, refresh, voted)))] : null,
  ];
}

function proposalCard(p, members, canVote, refresh, voted) {
  const t = p.tally;
  const counts = t.counts || { yes: 0, no: 0, abstain: 0, veto: 0 };
  const cast = Object.values(counts).reduce((a, b) => a + b, 0);
  const electorate = t.electorate_size || members.members.length || 1;
  const mine = (t.votes || []).find((v) => v.voter === members.me);
  const out = h("div", { "aria-live": "polite" });
  const castHere = voted.get(p.id);
  if (castHere && mine?.choice === castHere) voted.delete(p.id);
  else if (castHere) out.append(h("p", { role: "status" }, `Voted ${castHere}.`));
  const buttons = canVote ? h("div", { class: "inline", role: "group", "aria-label": `Vote on ${p.title}` },
    CHOICES.map((choice) => {
      const b = h("button", { type: "button", class: choice === "yes" ? "" : "secondary", "data-choice": choice }, choice);
      b.addEventListener("click", () => busy(b, out, async () => {
        await post(`/api/v1/governance/proposals/${p.id}/votes`, { choice });
        voted.set(p.id, choice);
        replace(out, h("p", { role: "status" }, `Voted ${choice}.`));
        await refresh();
      }));
      return b;
    })) : null;
  return h("li", { class: "card proposal", "data-proposal": p.id },
    h("h3", {}, p.title, " ", h("span", { class: "badge other outcome" }, outcomeText(t))),
    h("p", { class: "muted" }, `${p.action.action || ""}`, p.action.member ? [" of ", who(p.action.member)] : null, " · by ", who(p.author),
      t.deadline_s ? ` · voting until ${when(t.deadline_s * 1000)}` : ""),
    tallyBar(counts, electorate),
    h("p", { class: "tally-text" }, `yes ${counts.yes} · no ${counts.no} · abstain ${counts.abstain} · veto ${counts.veto} — ${cast} of ${electorate} voted`,
      t.quorum_permille !== undefined ? ` · quorum ${t.quorum_permille / 10}% ${t.quorum_reached ? "reached" : "not reached"}` : "",
      t.pass_threshold_permille !== undefined ? ` · passes at ${t.pass_threshold_permille / 10}% yes` : ""),
    admissionShortOf(p, members),
    mine ? h("p", {}, `Your vote: ${mine.choice}`) : null,
    buttons, out);
}

// An open admission whose candidate lacks the vouches the rules ask (0008 §3.1).
function admissionShortOf(p, members) {
  if (p.action.action !== "member.admit" || p.tally.final) return null;
  const app = members.applications.find((a) => a.identity === p.action.member);
  const needed = members.admission_vouches ?? 0;
  const have = app ? app.vouched_by.length : 0;
  return have < needed ? h("p", { class: "warning", role: "note" },
    `${have} of the ${needed} vouches the rules ask: if it passes without more, it passes void.`) : null;
}

// "passed, void: too few vouches": a passed proposal that changes nothing (0008 §3.1).
export function outcomeText(t) {
  if (t.outcome === "not-opened") return "not open yet: waiting for the witnesses";  // 0008 §4: votes count from witnessed time
  return t.void_reason ? `${t.outcome}, void: ${t.void_reason.replaceAll("-", " ")}` : t.outcome;
}

// Applications (member.apply): name, text, vouches so far; a member vouches or
// proposes the admission, and is told when the vouches fall short of the rules.
function applicationsSection(members, isMember, refresh, open) {
  const pending = members.applications.filter((a) => !a.member);
  const needed = members.admission_vouches ?? 0;
  return [h("h2", {}, `Applications (${pending.length})`),
    pending.length ? h("ul", { class: "results", id: "applications" }, pending.map((a) => {
      const out = h("div", { "aria-live": "polite" });
      const vouched = a.vouched_by.includes(members.me);
      const short_of = a.vouched_by.length < needed;
      const vouch = h("button", { type: "button", class: "secondary", "data-act": "vouch" }, vouched ? "Withdraw my vouch" : "Vouch");
      vouch.addEventListener("click", () => busy(vouch, out, async () => {
        await post("/api/v1/governance/vouches", { candidate: a.identity, withdraw: vouched });
        await refresh();
      }));
      const voting = open.find((p) => p.action.action === "member.admit" && p.action.member === a.identity);
      const admit = voting ? h("span", { class: "muted", "data-act": "admission-open" }, `An admission vote is open: “${voting.title}”.`)
        : h("button", { type: "button", "data-act": "admit" }, "Propose admission");
      if (!voting) admit.addEventListener("click", () => busy(admit, out, async () => {
        const made = await post("/api/v1/governance/proposals", { action: "member.admit", title: `Admit ${a.name}`, member: a.identity });
        replace(out, h("p", { role: "status" }, "Proposed.", (made.warnings || []).map((w) => h("span", { class: "warning" }, ` ${w.message}`))));
        await refresh();
      }));
      return h("li", { class: "card application", "data-identity": a.identity },
        h("h3", {}, who(a.identity)),  // the name it applied with, the id on hover and copy
        a.text ? h("p", {}, a.text) : null,
        h("p", { class: "vouches" }, `${a.vouched_by.length} of ${needed} vouch(es) the rules ask`,
          a.vouched_by.length ? [": ", a.vouched_by.map((v) => (v === members.me ? "you" : nameOf(v))).join(", ")] : ""),
        short_of ? h("p", { class: "warning", role: "note" }, "Too few vouches: an admission voted now would pass void unless members vouch before its deadline.") : null,
        isMember ? h("div", { class: "inline" }, vouch, admit) : null, out);
    })) : h("p", { class: "muted" }, "No pending application.")];
}

// The bar's widths go through the CSSOM: the page's CSP forbids style attributes.
function tallyBar(counts, electorate) {
  const part = (cls, n) => {
    const span = h("span", { class: cls });
    span.style.width = `${(100 * n) / electorate}%`;
    return span;
  };
  return h("div", { class: "tally", role: "img",
    "aria-label": `yes ${counts.yes}, no ${counts.no}, abstain ${counts.abstain}, veto ${counts.veto} of ${electorate}` },
  part("yes", counts.yes), part("no", counts.no + counts.veto), part("abstain", counts.abstain));
}

function rulesTable(rules) {
  return h("div", { class: "table-wrap" }, h("table", { id: "rules" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Rule"), h("th", { scope: "col" }, "Value"))),
    h("tbody", {}, Object.entries(rules).map(([k, v]) => h("tr", {}, h("td", {}, h("code", {}, k)),
      h("td", {}, Array.isArray(v) ? v.join(", ") : String(v)))))));
}

// A rules change: a rule in force (chosen from the table), its new value checked as
// the rule's kind (a whole number, or a comma-separated list), a title of 1-256
// characters; the node's typed refusal lands beside the field it names.
function proposeForm(refresh, rules) {
  const title = h("input", { id: "prop-title", name: "title", required: true, maxlength: 256, "data-field": "title" });
  const rule = h("select", { id: "prop-rule", name: "rule", required: true, "data-field": "changes" },
    Object.keys(rules).map((k) => h("option", { value: k }, k)));
  const value = h("input", { id: "prop-value", name: "value", required: true, "data-field": "changes" });
  const out = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Propose");
  const check = () => {
    const name = rule.value;
    const now = rules[name];
    let v;
    if (Array.isArray(now)) {
      v = checks.text(value, { max: 16384, required: true }).split(",").map((x) => x.trim()).filter(Boolean);
      if (!v.length) checks.fail(value, "One or more values, comma-separated.");
    } else {
      v = checks.integer(value, 0, Number.MAX_SAFE_INTEGER);
    }
    return { action: "rules.change", title: checks.text(title, { max: 256, required: true, oneLine: true }), changes: { [name]: v } };
  };
  const form = h("form", { class: "stack", id: "propose-form", novalidate: true, onsubmit: (e) => {
    e.preventDefault();
    submitChecked(form, submit, out, check, async (body) => {
      await post("/api/v1/governance/proposals", body);
      form.reset();
      await refresh();
    });
  } }, h("label", { for: "prop-title" }, "Title", title), h("label", { for: "prop-rule" }, "Rule to change", rule),
  h("label", { for: "prop-value" }, "New value (a whole number, or a comma-separated list for a list rule)", value), submit, out);
  return h("details", {}, h("summary", {}, "Propose a rule change"), form);
}
