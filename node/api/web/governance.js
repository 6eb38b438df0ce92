// Governance: proposals with their live tallies, voting, the rules in force and their
// history (specs/0008). Tallies are the node's: counted on witness time, not ours.
import { ApiError, get, optional, post, truncated } from "./api.js";
import { busy, errorBox, h, replace, short, when } from "./ui.js";
import { list, percent, t, tn } from "./i18n.js";
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
      view.append(h("h1", {}, t("nav.governance")), h("p", { class: "card", role: "status" }, t("gov.no-federation")));
      return null;
    }
    throw e;
  }
  if (listed === null) { notOnThisNode(view, t("nav.governance"), t("pending.what.governance")); return null; }
  const body = h("div", {});
  view.append(h("h1", {}, t("nav.governance")), body);
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
    h("p", { class: "muted" }, t("gov.members", { count: members.members.length }), " · ", isMember ? t("gov.member") : t("gov.not-member"),
      " · ", t("gov.node-time", { when: when(props.now_s * 1000) })),
    h("h2", {}, t("gov.open", { count: open.length })),
    open.length ? h("ul", { class: "results", id: "open-proposals" }, open.map((p) => proposalCard(p, members, isMember, refresh, voted)))
      : h("p", { class: "muted" }, t("gov.no-open")),
    propose,
    applicationsSection(members, isMember, refresh, open),
    members.frozen?.length ? [h("h2", {}, t("gov.frozen")), h("ul", { id: "frozen-members" }, members.frozen.map((f) => h("li", {},
      who(f.identity), " — ", tn("gov.frozen.text", { position: f.position, since: f.since_s ? when(f.since_s * 1000) : "?",
        how: f.since || t("unknown"), proof: h("code", { title: f.fork_proof }, short(f.fork_proof, 12)) }))))] : null,
    h("h2", {}, t("gov.rules")), rulesTable(rules.rules),
    h("h2", {}, t("gov.history")),
    h("ol", { id: "rules-history" }, history.history.map((c) => h("li", {},
      c.proposal ? [h("strong", {}, c.title), " ", tn("gov.history.change", { action: c.action, when: when(c.effective_at_s * 1000), proposal: h("code", {}, short(c.proposal, 12)) })]
        : h("strong", {}, t("gov.history.charter")),
      h("span", { class: "muted" }, " · ", t("gov.history.hash", { hash: c.rules_hash.slice(0, 12) }))))),
    closed.length ? [h("h2", {}, t("gov.decided", { count: closed.length })),
      h("ul", { class: "results" }, closed.map((p) => proposalCard(p, members, false, refresh, voted)))] : null,
  ];
}

function proposalCard(p, members, canVote, refresh, voted) {
  const tally = p.tally;
  const counts = tally.counts || { yes: 0, no: 0, abstain: 0, veto: 0 };
  const cast = Object.values(counts).reduce((a, b) => a + b, 0);
  const electorate = tally.electorate_size || members.members.length || 1;
  const mine = (tally.votes || []).find((v) => v.voter === members.me);
  const out = h("div", { "aria-live": "polite" });
  const castHere = voted.get(p.id);
  if (castHere && mine?.choice === castHere) voted.delete(p.id);
  else if (castHere) out.append(h("p", { role: "status" }, t("gov.voted", { choice: choiceName(castHere) })));
  const buttons = canVote ? h("div", { class: "inline", role: "group", "aria-label": t("gov.vote-on", { title: p.title }) },
    CHOICES.map((choice) => {
      const b = h("button", { type: "button", class: choice === "yes" ? "" : "secondary", "data-choice": choice }, choiceName(choice));
      b.addEventListener("click", () => busy(b, out, async () => {
        await post(`/api/v1/governance/proposals/${p.id}/votes`, { choice });
        voted.set(p.id, choice);
        replace(out, h("p", { role: "status" }, t("gov.voted", { choice: choiceName(choice) })));
        await refresh();
      }));
      return b;
    })) : null;
  return h("li", { class: "card proposal", "data-proposal": p.id },
    h("h3", {}, p.title, " ", h("span", { class: "badge other outcome" }, outcomeText(tally))),
    h("p", { class: "muted" }, `${p.action.action || ""}`, p.action.member ? [" ", tn("gov.of", { member: who(p.action.member) })] : null,
      " · ", tn("gov.by", { author: who(p.author) }),
      tally.deadline_s ? ` · ${t("gov.until", { when: when(tally.deadline_s * 1000) })}` : ""),
    tallyBar(counts, electorate),
    h("p", { class: "tally-text" }, t("gov.tally", { ...counts, cast, electorate }),
      tally.quorum_permille !== undefined ? ` · ${tally.quorum_reached ? t("gov.quorum-reached", { share: percent(tally.quorum_permille / 10) }) : t("gov.quorum-not-reached", { share: percent(tally.quorum_permille / 10) })}` : "",
      tally.pass_threshold_permille !== undefined ? ` · ${t("gov.passes-at", { share: percent(tally.pass_threshold_permille / 10) })}` : ""),
    admissionShortOf(p, members),
    mine ? h("p", {}, t("gov.your-vote", { choice: choiceName(mine.choice) })) : null,
    buttons, out);
}

// An open admission whose candidate lacks the vouches the rules ask (0008 §3.1).
function admissionShortOf(p, members) {
  if (p.action.action !== "member.admit" || p.tally.final) return null;
  const app = members.applications.find((a) => a.identity === p.action.member);
  const needed = members.admission_vouches ?? 0;
  const have = app ? app.vouched_by.length : 0;
  return have < needed ? h("p", { class: "warning", role: "note" }, t("gov.short-of", { count: needed, have })) : null;
}

// "passed, void: too few vouches": a passed proposal that changes nothing (0008 §3.1).
export function outcomeText(tally) {
  if (tally.outcome === "not-opened") return t("gov.outcome.not-opened");  // 0008 §4: votes count from witnessed time
  const outcome = { voting: t("gov.outcome.voting"), "no-quorum": t("gov.outcome.no-quorum"), vetoed: t("gov.outcome.vetoed"),
    rejected: t("gov.outcome.rejected"), passed: t("gov.outcome.passed") }[tally.outcome] || tally.outcome;
  return tally.void_reason ? t("gov.outcome.void", { outcome, reason: tally.void_reason.replaceAll("-", " ") }) : outcome;
}

const choiceName = (choice) => ({ yes: t("gov.choice.yes"), no: t("gov.choice.no"), abstain: t("gov.choice.abstain"),
  veto: t("gov.choice.veto") })[choice] || choice;

// Applications (member.apply): name, text, vouches so far; a member vouches or
// proposes the admission, and is told when the vouches fall short of the rules.
function applicationsSection(members, isMember, refresh, open) {
  const pending = members.applications.filter((a) => !a.member);
  const needed = members.admission_vouches ?? 0;
  return [h("h2", {}, t("gov.applications", { count: pending.length })),
    pending.length ? h("ul", { class: "results", id: "applications" }, pending.map((a) => {
      const out = h("div", { "aria-live": "polite" });
      const vouched = a.vouched_by.includes(members.me);
      const short_of = a.vouched_by.length < needed;
      const vouch = h("button", { type: "button", class: "secondary", "data-act": "vouch" }, vouched ? t("gov.unvouch") : t("gov.vouch"));
      vouch.addEventListener("click", () => busy(vouch, out, async () => {
        await post("/api/v1/governance/vouches", { candidate: a.identity, withdraw: vouched });
        await refresh();
      }));
      const voting = open.find((p) => p.action.action === "member.admit" && p.action.member === a.identity);
      const admit = voting ? h("span", { class: "muted", "data-act": "admission-open" }, t("gov.admission-open", { title: voting.title }))
        : h("button", { type: "button", "data-act": "admit" }, t("gov.propose-admission"));
      if (!voting) admit.addEventListener("click", () => busy(admit, out, async () => {
        const made = await post("/api/v1/governance/proposals", { action: "member.admit", title: t("gov.admit-title", { name: a.name }), member: a.identity });
        replace(out, h("p", { role: "status" }, t("gov.proposed"), (made.warnings || []).map((w) => h("span", { class: "warning" }, ` ${w.message}`))));
        await refresh();
      }));
      return h("li", { class: "card application", "data-identity": a.identity },
        h("h3", {}, who(a.identity)),  // the name it applied with, the id on hover and copy
        a.text ? h("p", {}, a.text) : null,
        h("p", { class: "vouches" }, t("gov.vouches", { have: a.vouched_by.length, count: needed }),
          a.vouched_by.length ? [": ", list(a.vouched_by.map((v) => (v === members.me ? t("you") : nameOf(v))))] : ""),
        short_of ? h("p", { class: "warning", role: "note" }, t("gov.too-few-vouches")) : null,
        isMember ? h("div", { class: "inline" }, vouch, admit) : null, out);
    })) : h("p", { class: "muted" }, t("gov.no-application"))];
}

// The bar's widths go through the CSSOM: the page's CSP forbids style attributes.
function tallyBar(counts, electorate) {
  const part = (cls, n) => {
    const span = h("span", { class: cls });
    span.style.width = `${(100 * n) / electorate}%`;
    return span;
  };
  return h("div", { class: "tally", role: "img",
    "aria-label": t("gov.tally-bar", { ...counts, electorate }) },
  part("yes", counts.yes), part("no", counts.no + counts.veto), part("abstain", counts.abstain));
}

function rulesTable(rules) {
  return h("div", { class: "table-wrap" }, h("table", { id: "rules" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("gov.col.rule")), h("th", { scope: "col" }, t("gov.col.value")))),
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
  const submit = h("button", { type: "submit" }, t("gov.propose"));
  const check = () => {
    const name = rule.value;
    const now = rules[name];
    let v;
    if (Array.isArray(now)) {
      v = checks.text(value, { max: 16384, required: true }).split(",").map((x) => x.trim()).filter(Boolean);
      if (!v.length) checks.fail(value, t("gov.values"));
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
  } }, h("label", { for: "prop-title" }, t("jobs.offer.title-field"), title), h("label", { for: "prop-rule" }, t("gov.rule-to-change"), rule),
  h("label", { for: "prop-value" }, t("gov.new-value"), value), submit, out);
  return h("details", {}, h("summary", {}, t("gov.propose-change")), form);
}
