// The dashboard's monthly trend (Chart.js, from npm; see the Makefile's assets step). The same numbers are in
// the table below the chart, which is what screen readers read.
(function () {
  "use strict";
  var canvas = document.getElementById("stats-trend");
  var source = document.getElementById("stats-trend-data");
  if (!canvas || !source || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = ["#0d6efd", "#198754", "#dc3545"];
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.series.map(function (s, i) {
        return { label: s.label, data: s.data, backgroundColor: colours[i % colours.length] };
      })
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
}());
