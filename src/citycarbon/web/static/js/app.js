/* citycarbon pages: draw every <div class="chart" data-chart='{ECharts option}'> with the
 * vendored ECharts, resize with the window, and confirm dangerous form buttons. No inline
 * scripts (the Content-Security-Policy forbids them). */
(function () {
  "use strict";
  function fmt(v) {
    if (typeof v !== "number") return v;
    return v.toLocaleString(undefined, { maximumFractionDigits: 1 });
  }
  var charts = [];
  document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
    if (typeof echarts === "undefined") return;
    var option;
    try { option = JSON.parse(el.dataset.chart); } catch (e) { return; }
    option.tooltip = option.tooltip || { trigger: "axis", valueFormatter: fmt };
    if (option.tooltip && !option.tooltip.valueFormatter) option.tooltip.valueFormatter = fmt;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    charts.push(chart);
  });
  window.ccCharts = charts;
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      if (!window.confirm(el.dataset.confirm)) ev.preventDefault();
    });
  });
})();
