/* One questionnaire of GET /api/v1/questionnaires/ as a form: the patient's wording, labelled choices, conditional
 * questions shown only when they apply (and not sent otherwise), errors beside the question they belong to.
 */
import { _, h } from "./dom.js";

const YES_NO = () => [{ code: "true", label: _("Yes") }, { code: "false", label: _("No") }];

function choiceGroup(field, type, choices, hintId) {
  const name = "q-" + field.name;
  return choices.map((choice, i) => {
    const id = name + "-" + i;
    return h("div", { class: "choice" },
      h("input", { type: type, id: id, name: name, value: choice.code }),
      h("label", { for: id }, choice.label));
  });
}

function scale(field) {
  const choices = [];
  for (let n = field.min; n <= field.max; n++) { choices.push({ code: String(n), label: String(n) }); }
  return choices;
}

function question(field) {
  const errorId = "err-" + field.name;
  const error = h("p", { class: "error", id: errorId, hidden: true });
  const optional = field.required ? null : h("span", { class: "optional" }, " ", _("(optional)"));
  let body;
  if (field.type === "text") {
    const id = "q-" + field.name;
    body = h("div", { class: "q", "data-field": field.name },
      h("label", { for: id, class: "wording" }, field.wording, optional),
      error,
      h("textarea", { id: id, name: id, rows: 3, maxlength: field.max_length || null }));
  } else {
    const type = field.type === "list" ? "checkbox" : "radio";
    let choices = field.choices;
    if (field.type === "int") { choices = scale(field); }
    if (field.type === "bool") { choices = YES_NO(); }
    const hint = field.type === "list" ? h("p", { class: "hint" }, _("Tick all that apply; leave all empty if none.")) : null;
    body = h("fieldset", { class: "q" + (field.type === "int" ? " scale" : ""), "data-field": field.name },
      h("legend", { class: "wording" }, field.wording, optional),
      hint, error,
      h("div", { class: "choices" }, choiceGroup(field, type, choices)));
  }
  return body;
}

/** The form of one questionnaire; `onsubmit(answers)` gets the answers that apply. */
export function questionnaireForm(definition, submitLabel, onsubmit) {
  const fields = definition.fields;
  const form = h("form", { class: "report", novalidate: true });
  const blocks = new Map();
  for (const field of fields) {
    const block = question(field);
    blocks.set(field.name, block);
    form.append(block);
  }
  const submit = h("button", { type: "submit", class: "primary" }, submitLabel);
  form.append(h("div", { class: "actions" }, submit));

  function raw(field) {
    const block = blocks.get(field.name);
    if (field.type === "text") { return block.querySelector("textarea").value.trim(); }
    const inputs = [...block.querySelectorAll("input")];
    if (field.type === "list") { return inputs.filter((i) => i.checked && !i.closest("[hidden]")).map((i) => i.value); }
    const picked = inputs.find((i) => i.checked);
    if (!picked) { return null; }
    if (field.type === "int") { return Number(picked.value); }
    if (field.type === "bool") { return picked.value === "true"; }
    return picked.value;
  }

  function applies(field, values) {
    const when = field.applies_when;
    if (when && !when.values.includes(values[when.field])) { return false; }
    if (field.subset_of) { return (values[field.subset_of] || []).length > 0; }
    return true;
  }

  /** Show the questions that apply; a subset question offers only the items of its list. */
  function refresh() {
    const values = {};
    for (const field of fields) { values[field.name] = raw(field); }
    for (const field of fields) {
      const block = blocks.get(field.name);
      const on = applies(field, values);
      block.hidden = !on;
      if (field.subset_of && on) {
        const whole = values[field.subset_of] || [];
        for (const input of block.querySelectorAll("input")) {
          input.closest(".choice").hidden = !whole.includes(input.value);
        }
      }
    }
  }

  /** The answers that apply (a text or list left empty and optional is left out). */
  function answers() {
    const values = {};
    for (const field of fields) { values[field.name] = raw(field); }
    const out = {};
    for (const field of fields) {
      if (!applies(field, values)) { continue; }
      const value = values[field.name];
      if (value === null) { continue; }
      if (!field.required && (value === "" || (Array.isArray(value) && value.length === 0))) { continue; }
      out[field.name] = value;
    }
    return out;
  }

  /** The questions that apply and are not answered: checked before a report is kept without signal. */
  function missing() {
    const out = answers();
    return fields.filter((f) => f.required && f.type !== "list" && f.type !== "text" && !blocks.get(f.name).hidden && !(f.name in out))
      .map((f) => ({ field: "answers." + f.name, code: "required", message: _("Please answer this question.") }));
  }

  function clearErrors() {
    for (const [name, block] of blocks) {
      const error = block.querySelector("#err-" + name);
      error.hidden = true;
      error.textContent = "";
      block.classList.remove("invalid");
      block.removeAttribute("aria-describedby");
      for (const input of block.querySelectorAll("input, textarea")) {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    }
  }

  /** Put each error beside its question and move the focus to the first; the rest go to `general`. */
  function showErrors(errors) {
    clearErrors();
    const general = [];
    let first = null;
    for (const error of errors) {
      const name = (error.field || "").replace(/^answers\./, "").split(".")[0];
      const block = blocks.get(name);
      if (!block || block.hidden) { general.push(error.message); continue; }
      const note = block.querySelector("#err-" + name);
      note.textContent = note.textContent ? note.textContent + " " + error.message : error.message;
      note.hidden = false;
      block.classList.add("invalid");
      const controls = block.querySelectorAll("input, textarea");
      for (const input of controls) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", note.id);
      }
      if (block.tagName === "FIELDSET") { block.setAttribute("aria-describedby", note.id); }
    }
    const firstField = fields.find((f) => blocks.get(f.name).classList.contains("invalid"));
    if (firstField) { first = blocks.get(firstField.name).querySelector("input, textarea"); }
    if (first) { first.focus(); }
    return general;
  }

  form.addEventListener("change", refresh);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onsubmit(answers(), { showErrors, clearErrors, missing, submit });
  });
  refresh();
  return form;
}
