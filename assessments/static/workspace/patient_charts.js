/* The patient page's trend charts: Chart.js (served from static files), phase bands and alert markers.
 * Reads the JSON the page embeds in <script id="ws-chart-data">; each chart is a <canvas id="chart-{id}">.
 */
(function () {
  "use strict";
  var source = document.getElementById("ws-chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var COLOURS = ["#2563eb", "#dc2626", "#059669", "#7c3aed"];
  var PHASE_FILL = { treatment: "rgba(217, 119, 6, 0.10)", stabilization: "rgba(5, 150, 105, 0.10)" };
  var SEVERITY = { urgent: "#ba2121", high: "#b45309", routine: "#417690" };
  var DAY_FORMAT = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

  // Phase bands behind the data, labelled at the top of the chart area.
  var phaseBands = {
    id: "phaseBands",
    beforeDatasetsDraw: function (chart) {
      var area = chart.chartArea, x = chart.scales.x, ctx = chart.ctx;
      ctx.save();
      data.phases.forEach(function (band) {
        var left = Math.max(x.getPixelForValue(band.from - 43200000), area.left);
        var right = Math.min(x.getPixelForValue(band.to + 43200000), area.right);
        if (right <= left) { return; }
        ctx.fillStyle = PHASE_FILL[band.phase] || "rgba(0,0,0,0.05)";
        ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
        ctx.fillStyle = "#555";
        ctx.font = "11px sans-serif";
        ctx.fillText(band.label, left + 4, area.top + 12);
      });
      ctx.restore();
    }
  };

  function build(spec) {
    var datasets = spec.series.map(function (s, i) {
      return {
        type: spec.bar ? "bar" : "line",
        label: s.label,
        data: s.points,
        borderColor: COLOURS[i % COLOURS.length],
        backgroundColor: COLOURS[i % COLOURS.length],
        spanGaps: true,
        tension: 0.2,
        pointRadius: 2,
        barThickness: 6
      };
    });
    datasets.push({
      type: "scatter",
      label: "Alerts",
      data: spec.alerts.map(function (a) { return { x: a.x, y: spec.yMax * 0.95, alert: a }; }),
      clip: false,
      pointStyle: "triangle",
      rotation: 180,
      pointRadius: 7,
      pointHoverRadius: 9,
      backgroundColor: spec.alerts.map(function (a) { return SEVERITY[a.severity] || "#333"; }),
      borderColor: "#fff"
    });
    var canvas = document.getElementById("chart-" + spec.id);
    return new Chart(canvas, {
      data: { datasets: datasets },
      plugins: [phaseBands],
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        layout: { padding: { top: 8, right: 10 } },
        scales: {
          x: {
            type: "linear",
            min: data.range.from - 43200000,
            max: data.range.to + 43200000,
            ticks: { maxTicksLimit: 8, callback: function (v) { return DAY_FORMAT.format(new Date(v)); } }
          },
          y: { min: 0, suggestedMax: spec.yMax }
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? DAY_FORMAT.format(new Date(items[0].parsed.x)) : ""; },
              label: function (item) {
                var raw = item.raw;
                if (raw.alert) { return raw.alert.rule + " " + raw.alert.title + " (" + raw.alert.severity + ")"; }
                return item.dataset.label + ": " + (raw.raw !== undefined ? raw.raw : raw.y);
              }
            }
          }
        },
        onClick: function (event, elements, chart) {
          elements.forEach(function (el) {
            var raw = chart.data.datasets[el.datasetIndex].data[el.index];
            if (raw.alert) { window.location.href = raw.alert.url; }
          });
        }
      }
    });
  }

  window.wsCharts = {};
  data.charts.forEach(function (spec) { window.wsCharts[spec.id] = build(spec); });
})();
