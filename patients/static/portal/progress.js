/* The patient's own trend charts (GET /api/v1/me/trends/?days=) with Chart.js from static files. */
import { _ } from "./dom.js";

const COLOURS = ["#1d4f73", "#b3261e", "#2e7d32", "#6a3d9a"];
const DAY = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

/** The charts: each {id, title, series: [[key, label], ...], max}. */
export function chartSpecs() {
  return [
    { id: "pain", title: _("Back pain after workouts"), max: 10,
      series: [["back_pain_now", _("Back pain after the workout")], ["back_pain_avg_7d", _("Weekly average back pain")]] },
    { id: "stiffness", title: _("Back stiffness"), max: 10,
      series: [["back_stiffness_now", _("Stiffness after the workout")], ["morning_stiffness_level", _("Morning stiffness (weekly)")]] },
  ];
}

/** Draw one chart of the last `days` days into `canvas` from the trend points; returns the Chart (to destroy on redraw). */
export function drawChart(canvas, spec, points, days) {
  const now = Date.now();
  if (typeof window.Chart === "undefined") { return null; }
  const datasets = spec.series.map(([key, label], i) => ({
    label: label,
    data: points.filter((p) => p[key] !== null && p[key] !== undefined).map((p) => ({ x: Date.parse(p.date + "T12:00:00"), y: p[key] })),
    borderColor: COLOURS[i], backgroundColor: COLOURS[i], tension: 0.2, pointRadius: 3, spanGaps: true,
  }));
  return new window.Chart(canvas, {
    type: "line",
    data: { datasets: datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      scales: {
        x: { type: "linear", min: now - days * 86400000, max: now, ticks: { maxTicksLimit: 5, callback: (v) => DAY.format(new Date(v)) } },
        y: { min: 0, max: spec.max, ticks: { stepSize: 2 } },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { title: (items) => items.length ? DAY.format(new Date(items[0].parsed.x)) : "" } },
      },
    },
  });
}

/** Words for a screen reader: the latest value of each series and its count of days. */
export function describe(spec, points) {
  return spec.series.map(([key, label]) => {
    const values = points.filter((p) => p[key] !== null && p[key] !== undefined);
    if (!values.length) { return label + ": " + _("no reports yet"); }
    const last = values[values.length - 1];
    return window.interpolate(_("%(label)s: %(value)s on %(date)s (%(count)s days reported)"),
      { label: label, value: last[key], date: DAY.format(new Date(last.date + "T12:00:00")), count: values.length }, true);
  }).join("; ");
}
