/* Small DOM helpers: elements from a tag, attributes and children; words through the catalog. */

// xgettext (makemessages -d djangojs) finds the words in _("..."), gettext("...") and ngettext("...", "...", n).
export const _ = (text) => window.gettext(text);
export const ngettext = (one, many, n) => window.ngettext(one, many, n);
/** Put named values into words already translated: fmt(_("Hello %(name)s"), {name: "Ana"}). */
export const fmt = (text, values) => window.interpolate(text, values, true);

/** h("p", {class: "x"}, "text", child, ...): an element. Attributes starting with "on" are listeners. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) { continue; }
    if (key.startsWith("on")) {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) { continue; }
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const DATE = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });

export const dateTime = (iso) => DATE_TIME.format(new Date(iso));
export const longDate = (iso) => DATE.format(new Date(iso));

/** A time in words ("in 14 minutes", "at 15:30"), for lockouts: Retry-After seconds from now. */
export function whenAgain(seconds) {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  const at = new Date(Date.now() + seconds * 1000);
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(at);
  const words = ngettext("Try again in %(minutes)s minute, at %(clock)s.", "Try again in %(minutes)s minutes, at %(clock)s.", minutes);
  return fmt(words, { minutes: minutes, clock: clock });
}
