/* The patient's portal: a small app on the public portal API, routed with the history API under /portal/.
 * Screens: log in, activate, forgotten and new password, Today, a report (post-workout or weekly), its advice,
 * Progress (trends and history). docs/portal.md lists the API calls of each.
 */
import * as api from "./api.js";
import { ApiError, Offline } from "./api.js";
import { _, dateTime, fmt, h, longDate, ngettext, whenAgain } from "./dom.js";
import { questionnaireForm } from "./forms.js";
import * as outbox from "./outbox.js";
import { chartSpecs, describe, drawChart } from "./progress.js";

const SCOPE = document.body.dataset.scope;
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const net = document.getElementById("net");
let charts = [];
let definitions = null;  // GET /questionnaires/, once per visit
let lastAdvice = null;  // what the advice screen shows

// --- routing ----------------------------------------------------------------------------------------------------

const ROUTES = {
  "": today,
  "login/": loginScreen,
  "activate/": activateScreen,
  "forgot-password/": forgotScreen,
  "reset-password/": resetScreen,
  "report/post_workout/": (q) => reportScreen("post_workout", q),
  "report/weekly/": (q) => reportScreen("weekly", q),
  "advice/": adviceScreen,
  "progress/": progressScreen,
};
const PUBLIC = new Set(["login/", "activate/", "forgot-password/", "reset-password/"]);
// Whether this device has signed in: without it, the app opens the log-in screen rather than asking the API (a 401).
const SIGNED_IN = "portal.signed-in";
const signedIn = () => localStorage.getItem(SIGNED_IN) === "1";
// The patient signed in on this device (from /me/): reports kept offline are theirs and sent only in their session.
const PATIENT = "portal.patient";

function go(path, replace) {
  const url = SCOPE + path;
  if (replace) { history.replaceState({}, "", url); } else { history.pushState({}, "", url); }
  return render();
}

async function render() {
  const url = new URL(location.href);
  const route = url.pathname.startsWith(SCOPE) ? url.pathname.slice(SCOPE.length) : "";
  const screen = ROUTES[route] || notFound;
  if (!PUBLIC.has(route) && ROUTES[route] && !signedIn()) { return go("login/", true); }
  charts.forEach((c) => c.destroy());
  charts = [];
  showNav(!PUBLIC.has(route), route);
  try {
    await screen(url.searchParams);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      localStorage.removeItem(SIGNED_IN);
      return go("login/", true);
    }
    page(_("Something went wrong"), h("p", {}, error instanceof Offline
      ? _("There is no connection, and this page has not been seen on this phone before. Try again when you have signal.")
      : _("The page could not be loaded. Please try again.")));
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
  event.preventDefault();
  go(link.getAttribute("href").slice(SCOPE.length));
});
window.addEventListener("popstate", render);

/** Put a screen in place: its heading gets the focus, so a screen reader announces the new page. */
function page(title, ...content) {
  document.title = title + " · " + _("Your back programme");
  const heading = h("h1", { tabindex: "-1" }, title);
  main.replaceChildren(heading, ...content.filter((c) => c !== null && c !== undefined));
  heading.focus();
  window.scrollTo(0, 0);
}

function link(path, text, cls) {
  return h("a", { href: SCOPE + path, "data-link": true, class: cls || null }, text);
}

function showNav(on, route) {
  nav.hidden = !on;
  if (!on) { return; }
  const item = (path, text) => h("li", {}, h("a", { href: SCOPE + path, "data-link": true, "aria-current": route === path ? "page" : null }, text));
  nav.replaceChildren(h("ul", {},
    item("", _("Today")),
    item("report/post_workout/", _("Report")),
    item("progress/", _("Progress")),
    h("li", {}, h("button", { type: "button", class: "link", onclick: signOut }, _("Log out")))));
}

function notFound() {
  page(_("Page not found"), h("p", {}, link("", _("Back to today"))));
}

// --- signing in ---------------------------------------------------------------------------------------------------

function field(id, label, attrs) {
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    h("input", Object.assign({ id: id, name: id }, attrs)),
    h("p", { class: "error", id: id + "-error", hidden: true }));
}

function message(kind) {
  return h("div", { class: "message " + kind, role: kind === "error" ? "alert" : "status", hidden: true });
}

function say(box, text) {
  box.textContent = text;
  box.hidden = !text;
}

/** The words of a refused sign-in request: the API's message, and when to try again after a lockout. */
function refusal(error) {
  if (error instanceof Offline) { return _("There is no connection. Try again when you have signal."); }
  if (error instanceof ApiError && error.status === 429) {
    const seconds = error.retryAfter || 60;
    const first = error.errors[0] && error.errors[0].code === "locked_out"
      ? _("Too many failed attempts: signing in is blocked for now.")
      : _("Too many attempts in a short time.");
    return first + " " + whenAgain(seconds);
  }
  if (error instanceof ApiError && error.errors.length) { return error.errors.map((e) => e.message).join(" "); }
  return _("That did not work. Please try again.");
}

function authForm(fields, submitText, onsubmit) {
  const box = message("error");
  const button = h("button", { type: "submit", class: "primary" }, submitText);
  const form = h("form", { class: "auth", novalidate: true }, box, ...fields, h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(box, "");
    for (const e of form.querySelectorAll(".field .error")) { e.hidden = true; }
    for (const i of form.querySelectorAll("input")) { i.removeAttribute("aria-invalid"); i.removeAttribute("aria-describedby"); }
    button.disabled = true;
    try {
      await onsubmit(form);
    } catch (error) {
      const placed = placeFieldErrors(form, error);
      if (!placed) { say(box, refusal(error)); box.focus(); }
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** A 400 naming a field of the form (the password's problems): beside that field. */
function placeFieldErrors(form, error) {
  if (!(error instanceof ApiError) || error.status !== 400) { return false; }
  let first = null;
  for (const e of error.errors) {
    const input = e.field && form.querySelector("#" + e.field);
    if (!input) { return false; }
    const note = form.querySelector("#" + e.field + "-error");
    note.textContent = e.message;
    note.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    first = first || input;
  }
  if (first) { first.focus(); }
  return Boolean(first);
}

function loginScreen(query) {
  const done = message("status");
  const form = authForm([
    field("email", _("Email"), { type: "email", autocomplete: "username", required: true }),
    field("password", _("Password"), { type: "password", autocomplete: "current-password", required: true }),
  ], _("Log in"), async (f) => {
    await api.login(f.querySelector("#email").value.trim(), f.querySelector("#password").value);
    localStorage.setItem(SIGNED_IN, "1");
    await go("", true);
  });
  page(_("Log in"), done, form, h("p", {}, link("forgot-password/", _("Forgot your password?"))));
  if (query.get("done") === "reset") { say(done, _("Your password is changed. Log in with the new one.")); }
}

function activateScreen(query) {
  const token = query.get("token") || "";
  const form = authForm([
    h("p", {}, _("Welcome! Choose a password for your account: a long one that is easy for you to remember and hard for others to guess.")),
    field("email", _("Your email (where the invitation came)"), { type: "email", autocomplete: "username", required: true }),
    field("password", _("Choose a password"), { type: "password", autocomplete: "new-password", required: true }),
  ], _("Activate and log in"), async (f) => {
    const email = f.querySelector("#email").value.trim();
    const password = f.querySelector("#password").value;
    await api.post("auth/activate/", { token: token, password: password });
    await api.login(email, password);
    localStorage.setItem(SIGNED_IN, "1");
    await go("", true);
  });
  page(_("Activate your account"), form);
}

function forgotScreen() {
  const done = message("status");
  const form = authForm([
    field("email", _("Email"), { type: "email", autocomplete: "username", required: true }),
  ], _("Send me a link"), async (f) => {
    const body = await api.post("auth/password/forgot/", { email: f.querySelector("#email").value.trim() });
    say(done, body.detail);
    f.hidden = true;
  });
  page(_("Forgotten password"), h("p", {}, _("We will email you a link to choose a new password.")), done, form,
    h("p", {}, link("login/", _("Back to log in"))));
}

function resetScreen(query) {
  const form = authForm([
    field("password", _("New password"), { type: "password", autocomplete: "new-password", required: true }),
  ], _("Change password"), async (f) => {
    await api.post("auth/password/reset/", { uid: query.get("uid") || "", token: query.get("token") || "", password: f.querySelector("#password").value });
    await go("login/?done=reset", true);
  });
  page(_("Choose a new password"), form);
}

async function signOut() {
  try {
    await api.logout();
  } catch (error) {
    // Already signed out, or no signal: the device forgets the patient's data either way.
  }
  localStorage.removeItem(SIGNED_IN);
  localStorage.removeItem(PATIENT);
  if ("caches" in window) { await caches.delete("portal-api"); }
  if (navigator.serviceWorker && navigator.serviceWorker.controller) { navigator.serviceWorker.controller.postMessage("signed-out"); }
  definitions = null;
  await go("login/", true);
}

// --- Today ----------------------------------------------------------------------------------------------------------

const PHASES = () => ({ treatment: _("Treatment"), stabilization: _("Core stabilization") });

async function loadDefinitions() {
  if (!definitions) { definitions = await api.get("questionnaires/"); }
  return definitions;
}

function kindTitle(kind) {
  const q = definitions && definitions.questionnaires.find((d) => d.kind === kind);
  if (q) { return q.title; }
  return kind === "weekly" ? _("Weekly check-in") : _("Post-workout");
}

async function waitingList() {
  const reports = await outbox.waiting(localStorage.getItem(PATIENT));
  if (!reports.length) { return null; }
  return h("section", { class: "card waiting", "aria-labelledby": "waiting-h" },
    h("h2", { id: "waiting-h" }, _("Waiting to send")),
    h("p", {}, _("These reports are kept on this phone and will be sent when you are online.")),
    h("ul", { class: "list" }, reports.map((r) => h("li", { "data-key": r.key },
      h("strong", {}, kindTitle(r.kind)), " · ", dateTime(r.occurred_at), " · ",
      r.state === "refused"
        ? h("span", { class: "refused" }, _("Not accepted:"), " ", r.error, " ",
          h("button", { type: "button", class: "link", onclick: async () => { await outbox.drop(r.key); render(); } }, _("Discard")))
        : h("span", { class: "pending" }, _("waiting to send"))))));
}

async function today() {
  const [me, program, due] = await Promise.all([api.get("me/"), api.get("me/program/").catch(notEnrolled), api.get("assessments/due/")]);
  localStorage.setItem(PATIENT, String(me.id));
  await loadDefinitions().catch(() => null);
  const enrollment = me.enrollment;
  const intro = h("section", { class: "card", "aria-labelledby": "phase-h" },
    h("h2", { id: "phase-h" }, enrollment ? fmt(_("Phase: %(phase)s"), { phase: PHASES()[enrollment.phase] || enrollment.phase }) : _("Not enrolled yet")),
    enrollment ? h("p", {}, fmt(_("Since %(date)s, with %(therapist)s at %(clinic)s."),
      { date: longDate(enrollment.phase_since + "T12:00:00"), therapist: me.therapist.display_name, clinic: me.clinic.name })) : null);
  const dueItems = due.map((d) => h("li", { class: d.overdue ? "overdue" : null },
    h("strong", {}, kindTitle(d.kind)), " ",
    d.overdue ? h("span", { class: "badge overdue" }, _("overdue")) : null, " ",
    h("span", {}, fmt(d.overdue ? _("was due %(when)s") : _("due %(when)s"), { when: dateTime(d.due_at) })), " ",
    link("report/" + d.kind + "/", _("Fill in now"), "button")));
  const dueCard = h("section", { class: "card", "aria-labelledby": "due-h" },
    h("h2", { id: "due-h" }, _("Due")),
    dueItems.length ? h("ul", { class: "list due" }, dueItems) : h("p", {}, _("Nothing is due right now.")),
    h("p", { class: "quick" }, link("report/post_workout/", _("Report a workout"), "button secondary"), " ",
      link("report/weekly/", _("Weekly check-in"), "button secondary")));
  const exercises = program ? program.exercises.map((e) => h("li", { class: "exercise" },
    h("h3", {}, e.name),
    h("p", { class: "dose" }, dose(e)),
    e.instructions ? h("p", {}, e.instructions) : null)) : [];
  const programCard = h("section", { class: "card", "aria-labelledby": "program-h" },
    h("h2", { id: "program-h" }, program ? fmt(_("Your program: %(name)s"), { name: program.name }) : _("Your program")),
    exercises.length ? h("ol", { class: "exercises" }, exercises) : h("p", {}, _("Your therapist has not given you exercises yet.")));
  page(fmt(_("Hello, %(name)s"), { name: me.first_name }), intro, await waitingList(), dueCard, programCard);
}

function notEnrolled(error) {
  if (error instanceof ApiError && error.status === 404) { return null; }
  throw error;
}

function dose(e) {
  const parts = [fmt(_("%(sets)s sets of %(reps)s"), { sets: e.sets, reps: e.reps })];
  if (e.hold_seconds) { parts.push(fmt(_("hold %(seconds)s seconds"), { seconds: e.hold_seconds })); }
  return parts.join(", ");
}

// --- reporting --------------------------------------------------------------------------------------------------

/** Urgent advice for red-flag answers made without signal, from the definition's red_flag_advice. */
function offlineAdvice(answers) {
  return (definitions.red_flag_advice || [])
    .filter((a) => Array.isArray(answers[a.field]) && answers[a.field].length)
    .map((a) => ({ level: a.level, message: a.message }));
}

function adviceBlock(advice) {
  return h("div", { class: "advice-list" }, advice.map((a) => h("p", { class: "advice " + a.level }, a.message)));
}

async function reportScreen(kind) {
  await loadDefinitions();
  const definition = definitions.questionnaires.find((d) => d.kind === kind);
  const box = message("error");
  const form = questionnaireForm(definition, _("Send report"), async (answers, ui) => {
    say(box, "");
    ui.clearErrors();
    ui.submit.disabled = true;
    const report = { key: crypto.randomUUID(), kind: kind, occurred_at: new Date().toISOString(), answers: answers };
    try {
      const entry = await outbox.send(report);
      lastAdvice = { advice: entry.advice || [], sent: true, kind: kind };
      await go("advice/");
    } catch (error) {
      if (error instanceof Offline) {
        const missing = ui.missing();
        if (missing.length) { ui.showErrors(missing); return; }
        await outbox.keep(Object.assign(report, { occurred_at_kept: true, patient: localStorage.getItem(PATIENT) }));
        lastAdvice = { advice: offlineAdvice(answers), sent: false, kind: kind };
        await go("advice/");
        return;
      }
      if (error instanceof ApiError && error.status === 400) {
        const general = ui.showErrors(error.errors);
        const advice = error.body.advice || [];
        box.replaceChildren(
          h("p", {}, _("Please check the answers marked below; nothing you entered is lost.")),
          ...general.map((g) => h("p", {}, g)),
          ...(advice.length ? [adviceBlock(advice)] : []));
        box.hidden = false;
        if (!error.errors.length) { box.focus(); }
        return;
      }
      if (error instanceof ApiError && error.status === 401) { localStorage.removeItem(SIGNED_IN); await go("login/", true); return; }
      say(box, refusal(error));
    } finally {
      ui.submit.disabled = false;
    }
  });
  box.tabIndex = -1;
  const other = kind === "weekly" ? link("report/post_workout/", _("Report a workout instead")) : link("report/weekly/", _("Weekly check-in instead"));
  page(definition.title, h("p", { class: "switch" }, other), box, form);
}

function adviceScreen() {
  if (!lastAdvice) { return go("", true); }
  const { advice, sent } = lastAdvice;
  const urgent = advice.filter((a) => a.level === "urgent");
  const info = advice.filter((a) => a.level !== "urgent");
  const home = link("", _("Back to today"), "button");
  if (urgent.length) {
    document.body.classList.add("urgent-mode");
    page(_("Stop and get help now"),
      h("div", { class: "urgent-screen" },
        urgent.map((a) => h("p", { class: "urgent-message" }, a.message)),
        h("p", { class: "call" }, _("Call your clinic now and tell them what you reported. If you cannot reach the clinic and the message above says emergency care, go to emergency care or call the emergency number.")),
        sent
          ? (info.length ? info.map((a) => h("p", { class: "told" }, a.message)) : h("p", { class: "told" }, _("Your report has been sent to your clinic.")))
          : h("p", { class: "told not-told" }, _("Your therapist has NOT been told yet: this report is waiting on this phone until you are online. Call the clinic now.")),
        home));
    return;
  }
  page(sent ? _("Thank you, your report is saved") : _("Saved on this phone"),
    sent ? null : h("p", { class: "message status" }, _("There is no connection. Your report is waiting to send and will go as soon as you are online.")),
    sent ? h("p", {}, _("Your clinic has it now. Keep going with your program as prescribed.")) : null,
    info.length ? adviceBlock(info) : null,
    h("p", {}, home, " ", link("progress/", _("See your progress"))));
}

// --- progress -----------------------------------------------------------------------------------------------------

let days = 30;

async function progressScreen() {
  await loadDefinitions().catch(() => null);
  const specs = chartSpecs();
  const range = h("fieldset", { class: "range" }, h("legend", {}, _("Show the last")),
    [30, 90].map((n) => h("span", { class: "choice" },
      h("input", { type: "radio", name: "days", id: "days-" + n, value: n, checked: n === days }),
      h("label", { for: "days-" + n }, fmt(_("%(n)s days"), { n: n })))));
  const chartBox = h("div", { class: "charts" });
  const historyList = h("ol", { class: "list history" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, _("Show older reports"));
  let nextPage = 1;

  async function drawCharts() {
    charts.forEach((c) => c.destroy());
    charts = [];
    const trends = await api.get("me/trends/?days=" + days);
    chartBox.replaceChildren(...specs.map((spec) => {
      const canvas = h("canvas", { role: "img", "aria-label": spec.title + ". " + describe(spec, trends.series) });
      const figure = h("figure", { class: "chart" }, h("figcaption", {}, spec.title), h("div", { class: "canvas" }, canvas));
      return figure;
    }));
    specs.forEach((spec, i) => {
      const chart = drawChart(chartBox.querySelectorAll("canvas")[i], spec, trends.series, days);
      if (chart) { charts.push(chart); }
    });
  }

  async function loadHistory() {
    const body = await api.get("assessments/?page=" + nextPage);
    historyList.append(...body.results.map(historyItem));
    nextPage = body.next ? nextPage + 1 : null;
    more.hidden = !nextPage;
    if (!body.count) { historyList.replaceChildren(h("li", {}, _("No reports yet."))); }
  }

  range.addEventListener("change", (event) => { days = Number(event.target.value); drawCharts().catch(render); });
  more.addEventListener("click", () => loadHistory().catch(render));
  await Promise.all([drawCharts(), loadHistory()]);
  page(_("Your progress"), range, chartBox, await waitingList(),
    h("section", { "aria-labelledby": "history-h" }, h("h2", { id: "history-h" }, _("Your reports")), historyList, more));
}

function historyItem(entry) {
  const a = entry.answers;
  const parts = entry.kind === "weekly"
    ? [fmt(_("average back pain %(n)s"), { n: a.back_pain_avg_7d }), fmt(_("morning stiffness %(n)s"), { n: a.morning_stiffness_level })]
    : [fmt(_("back pain %(n)s"), { n: a.back_pain_now }), fmt(_("stiffness %(n)s"), { n: a.back_stiffness_now })];
  if (a.thigh_symptoms && a.thigh_symptoms !== "none") { parts.push(_("leg symptoms")); }
  if ((a.safety_screen || []).length || (a.systemic_flags || []).length) { parts.push(_("warning signs reported")); }
  return h("li", { "data-entry": entry.id },
    h("strong", {}, kindTitle(entry.kind)), " · ", h("time", { datetime: entry.occurred_at }, dateTime(entry.occurred_at)),
    h("br"), parts.join(", "));
}

// --- start: the network, the outbox and the service worker ------------------------------------------------------

function showNetwork() {
  net.textContent = navigator.onLine ? "" : _("Offline: reports are kept on this phone and sent later.");
}

async function sendWaiting() {
  showNetwork();
  if (!navigator.onLine || !signedIn() || !localStorage.getItem(PATIENT)) { return; }
  const sent = await outbox.flush(localStorage.getItem(PATIENT)).catch(() => []);
  if (sent.length) {
    net.textContent = fmt(ngettext("%(n)s waiting report sent.", "%(n)s waiting reports sent.", sent.length), { n: sent.length });
    const route = location.pathname.slice(SCOPE.length);
    if (route === "" || route === "progress/") { await render(); }
  }
}

window.addEventListener("online", sendWaiting);
window.addEventListener("offline", showNetwork);
document.body.addEventListener("click", (event) => {
  if (event.target.closest("a[data-link]")) { document.body.classList.remove("urgent-mode"); }
});

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(document.body.dataset.sw, { scope: SCOPE }).catch(() => {
    // Blocked or unsupported: the app works, only not without signal.
  });
  // On the first visit the reads above were made before the service worker took control: read them again
  // through it, so that the program and the questionnaires are kept for use without signal.
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!localStorage.getItem(PATIENT)) { return; }
    for (const path of ["me/", "me/program/", "questionnaires/", "assessments/due/"]) {
      api.get(path).catch(() => {});
    }
  });
}

render().then(sendWaiting);
