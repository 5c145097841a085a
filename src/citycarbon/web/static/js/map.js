/* 电碳生态地图 — the electricity-carbon eco map page.
 *
 * Draws the city's districts (ECharts registerMap with the GeoJSON from /api/v1/map/boundaries)
 * as a choropleth, with parks, enterprises, grid nodes, the green project reserve (from
 * /api/v1/techmap/projects; its demonstration projects, 示范项目, starred in a layer of their
 * own) as scatter layers and 蓝碳 (blue-carbon) sites as their boundary
 * polygons with a dot sized by their annual sink (all toggled from the legend), a period slider (year / month / day) and a side panel with
 * the clicked district, park or enterprise. Everything comes from the JSON endpoints, which apply the
 * signed-in user's scope. No external resources: ECharts is vendored.
 */
(function () {
  "use strict";

  const root = document.getElementById("cc-map");
  if (!root) return;
  const T = JSON.parse(document.getElementById("cc-map-i18n").textContent);
  const lang = (document.documentElement.lang || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
  const api = root.dataset.api || "/api/v1/map";
  const enterpriseUrl = root.dataset.enterpriseUrl || "/enterprises/";
  // data-layers="districts": the district choropleth alone (the public page: its API has no
  // points and no district summaries; a click shows the district's own values)
  const districtsOnly = root.dataset.layers === "districts";
  const NO_POINTS = { enterprises: { columns: [], rows: [] }, parks: [], nodes: [] };
  const chart = echarts.init(root, null, { renderer: "canvas" });
  window.ccMapChart = chart; // for tests and the browser console

  const els = {
    kind: document.getElementById("cc-map-kind"),
    slider: document.getElementById("cc-map-slider"),
    period: document.getElementById("cc-map-period"),
    metric: document.getElementById("cc-map-metric"),
    play: document.getElementById("cc-map-play"),
    panel: document.getElementById("cc-map-panel"),
    status: document.getElementById("cc-map-status"),
  };

  const state = {
    periods: null,
    list: [],
    period: null,
    metric: els.metric.value,
    districts: [],
    names: {},
    timer: null,
    seq: 0,
    blue: [], // the 蓝碳 sites drawn (renderItem reads their boundaries)
  };

  const METRICS = {
    co2_t: { label: T.metric_co2, unit: "t" },
    energy_tce: { label: T.metric_energy, unit: "tce" },
    electricity_mwh: { label: T.metric_electricity, unit: "MWh" },
    electricity_co2_t: { label: T.metric_electricity_co2, unit: "t" },
    ghg_tco2e: { label: T.metric_ghg, unit: "tCO₂e" },
  };

  function fmt(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "—";
    const d = digits === undefined ? (Math.abs(v) >= 100 ? 0 : 1) : digits;
    return Number(v).toLocaleString(lang === "en" ? "en-US" : "zh-CN", {
      maximumFractionDigits: d,
      minimumFractionDigits: 0,
    });
  }
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    })[c]);
  }
  function nameOf(o) {
    return lang === "en" ? o.name_en || o.name_zh || o.name : o.name_zh || o.name;
  }
  async function getJSON(path) {
    const res = await fetch(api + path, { headers: { Accept: "application/json" } });
    if (!res.ok) {
      let detail = res.statusText;
      try {
        const body = await res.json();
        detail = body.detail || body.message || detail;
      } catch (e) { /* not JSON */ }
      throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return res.json();
  }
  function setStatus(text, isError) {
    els.status.textContent = text || "";
    els.status.classList.toggle("cc-map-error", !!isError);
  }

  // ------------------------------------------------------------------ periods
  function listFor(kind) {
    const p = state.periods;
    if (kind === "year") return p.years;
    if (kind === "month") return p.months;
    if (!p.days) return [];
    const out = [];
    const d = new Date(p.days.first + "T00:00:00Z");
    const last = new Date(p.days.last + "T00:00:00Z");
    while (d <= last) {
      out.push(d.toISOString().slice(0, 10));
      d.setUTCDate(d.getUTCDate() + 1);
    }
    return out;
  }
  function setKind(kind, keep) {
    state.list = listFor(kind);
    els.slider.max = Math.max(0, state.list.length - 1);
    let i = state.list.length - 1;
    if (keep && state.list.length) {
      // the same time in the new granularity, its latest part (2024 -> 2024-12 -> 2024-12-31)
      const prefix = keep.slice(0, Math.min(keep.length, state.list[0].length));
      const j = state.list.findLastIndex((x) => x.startsWith(prefix));
      if (j >= 0) i = j;
    }
    els.slider.value = i;
    // a day shows metered electricity only (the fuel returns are monthly); the inventory is
    // yearly
    const allowed = (m) =>
      kind === "day" ? m.startsWith("electricity") : kind === "year" || m !== "ghg_tco2e";
    for (const opt of els.metric.options) opt.disabled = !allowed(opt.value);
    if (!allowed(state.metric)) {
      const preferred = kind === "day" ? "electricity_co2_t" : "co2_t";
      const offered = [...els.metric.options].filter((o) => !o.disabled).map((o) => o.value);
      state.metric = offered.includes(preferred) ? preferred : offered[0];
      els.metric.value = state.metric;
    }
    choose(i);
  }
  function choose(i) {
    state.period = state.list[i];
    els.period.textContent = state.period || "—";
    load();
  }

  // ------------------------------------------------------------------ drawing
  function baseOption(geojson) {
    return {
      animation: false,
      tooltip: { trigger: "item", confine: true, formatter: tooltip },
      legend: {
        show: !districtsOnly,
        top: 8,
        left: 8,
        orient: "vertical",
        data: [
          T.layer_parks, T.layer_enterprises, T.layer_nodes, T.layer_projects,
          T.layer_demo_projects, T.layer_blue_carbon,
        ],
        selected: { [T.layer_nodes]: false },
        backgroundColor: "rgba(255,255,255,0.85)",
      },
      visualMap: {
        type: "continuous",
        seriesIndex: 0,
        min: 0,
        max: 1,
        calculable: true,
        left: 8,
        bottom: 8,
        text: ["", ""],
        textGap: 18, // the legend title (indicator, unit, period) clear of the handle value
        inRange: { color: ["#e8f5e9", "#a5d6a7", "#ffcc80", "#ef6c00", "#b71c1c"] },
        formatter: (v) => fmt(v, 0),
      },
      geo: {
        map: "cc-city",
        roam: true,
        layoutCenter: ["50%", "50%"],
        layoutSize: "95%",
        // district names are the label layer below (drawn above the enterprise dots)
        label: { show: false },
        itemStyle: { borderColor: "#546e7a", borderWidth: 1 },
        emphasis: { label: { show: false }, itemStyle: { areaColor: "#fff59d" } },
        select: { disabled: true },
      },
      series: [
        { name: T.layer_districts, type: "map", geoIndex: 0, data: [] },
        {
          name: T.layer_parks, type: "scatter", coordinateSystem: "geo", symbol: "diamond",
          symbolSize: 14, itemStyle: { color: "#1565c0", borderColor: "#fff" }, data: [], z: 4,
        },
        {
          name: T.layer_enterprises, type: "scatter", coordinateSystem: "geo", data: [], z: 3,
          itemStyle: { color: "rgba(38,50,56,0.6)", borderColor: "#fff", borderWidth: 0.6 },
          symbolSize: (v) => v[2],
        },
        {
          name: T.layer_nodes, type: "scatter", coordinateSystem: "geo", symbol: "triangle",
          data: [], z: 5, itemStyle: { color: "#6a1b9a", borderColor: "#fff" },
          symbolSize: (v) => v[2],
        },
        {
          // district names at their label points, above every layer; clicks pass through
          name: "district-labels", type: "scatter", coordinateSystem: "geo", silent: true,
          symbolSize: 0, z: 10, tooltip: { show: false },
          label: {
            show: true, formatter: "{b}", color: "#263238", fontSize: 13, fontWeight: "bold",
            textBorderColor: "#fff", textBorderWidth: 3,
          },
          data: geojson.features.filter((f) => f.properties.cp).map((f) => ({
            name: nameOf(f.properties), value: f.properties.cp,
          })),
        },
        {
          // the green project reserve (绿色低碳项目库): not tied to the period
          name: T.layer_projects, type: "scatter", coordinateSystem: "geo", symbol: "pin",
          symbolSize: 24, z: 6, data: [], itemStyle: { color: "#2e7d32", borderColor: "#fff" },
        },
        {
          // 蓝碳 sites: each its boundary polygon (where given) and a dot sized by its annual
          // sink (city-wide roles; empty for others)
          name: T.layer_blue_carbon, type: "custom", coordinateSystem: "geo", data: [], z: 6,
          itemStyle: { color: "#00897b" }, renderItem: blueSite,
        },
        {
          // the reserve's demonstration projects (示范项目): a gold star in their pin's head
          name: T.layer_demo_projects, type: "scatter", coordinateSystem: "geo",
          symbol: STAR, symbolSize: 13, symbolOffset: [0, -15], z: 7, data: [],
          itemStyle: { color: "#f9a825", borderColor: "#5d4037", borderWidth: 0.6 },
        },
      ],
    };
  }
  const STAR = "path://M12,2L14.9,8.6L22,9.3L16.6,14L18.2,21L12,17.3L5.8,21L7.4,14L2,9.3L9.1,8.6Z";
  const PROJECT_SERIES = [5, 7]; // every project; the demonstration projects among them
  const isDemo = (o) => Boolean(o.demonstration_level) && o.demonstration_level !== "none";

  // the method of each pool a site has a sink in, in the page's language (the API's ``method``
  // is the result table's English text)
  function blueMethods(o) {
    return [["sediment_co2_t", T.method_sediment], ["vegetation_co2_t", T.method_vegetation]]
      .filter(([k]) => o[k] !== null && o[k] !== undefined).map(([, text]) => text);
  }

  // a 蓝碳 site: its outer rings filled, holes outlined, and a dot at its position
  function blueSite(params, api) {
    const b = state.blue[params.dataIndex];
    const g = b.geometry;
    const polys = !g ? [] : g.type === "Polygon" ? [g.coordinates] : g.coordinates;
    const ring = (r, fill) => ({
      type: "polygon",
      shape: { points: r.map((c) => api.coord(c)) },
      style: { fill: fill, stroke: "#00695c", lineWidth: 1.5 },
    });
    const children = polys.flatMap((rings) => [
      ring(rings[0], "rgba(0,137,123,0.35)"),
      ...rings.slice(1).map((h) => ring(h, "rgba(255,255,255,0.6)")),
    ]);
    const [x, y] = api.coord([api.value(0), api.value(1)]);
    children.push({
      type: "circle",
      shape: { cx: x, cy: y, r: api.value(2) / 2 },
      style: { fill: "#00897b", stroke: "#fff", lineWidth: 1 },
    });
    return { type: "group", children: children };
  }

  function mappedLabel() {
    const m = METRICS[state.metric];
    return `${m.label} (${m.unit}) · ${state.period}`;
  }
  function mappedLine() {
    return `<p class="cc-map-indicator"><b>${esc(T.mapped)}</b>: ${esc(mappedLabel())}</p>`;
  }

  function tooltip(p) {
    const m = METRICS[state.metric];
    if (p.seriesIndex === 0 || p.componentType === "geo") {
      const d = state.districts.find((x) => x.code === p.name);
      if (!d) return esc(p.name);
      const v = d.visible ? fmt(d[state.metric]) + " " + m.unit : T.not_in_scope;
      return `<b>${esc(nameOf(d))}</b><br>${esc(m.label)}: ${v}`;
    }
    const o = p.data && p.data.item;
    if (!o) return "";
    if (p.seriesIndex === 1) {
      return `<b>${esc(nameOf(o))}</b><br>${esc(T.enterprises)}: ${o.enterprises}` +
        `<br>${esc(METRICS.co2_t.label)}: ${fmt(o.co2_t)} t`;
    }
    if (p.seriesIndex === 6) {
      const sink = (v) => (v === null || v === undefined ? "–" : fmt(-v) + " tCO₂");
      return `<b>${esc(o.site_name)}</b> (${esc(o.site_id)})<br>${esc(T.ecosystem)}: ` +
        `${esc(T["eco_" + o.ecosystem] || o.ecosystem)} · ${esc(T.area_ha)}: ${fmt(o.area_ha, 1)} ha` +
        `<br><b>${esc(T.annual_sink)} ${o.year}</b>: ${sink(o.co2_t)}` +
        `<br>${esc(T.sediment)}: ${sink(o.sediment_co2_t)} · ${esc(T.vegetation)}: ${sink(o.vegetation_co2_t)}` +
        (o.tier ? ` (${esc(o.tier)})` : "") +
        blueMethods(o).map((m) => `<br><span class="cc-note">${esc(m)}</span>`).join("");
    }
    if (p.seriesIndex === 2) {
      const key = state.metric in o ? state.metric : "co2_t";
      const em = METRICS[key];
      return `<b>${esc(o.name)}</b><br>${esc(o.credit_code)}<br>${esc(em.label)}: ` +
        `${fmt(o[key])} ${em.unit}` + (o.position_ok ? "" : `<br><i>${esc(T.position_off)}</i>`);
    }
    if (PROJECT_SERIES.includes(p.seriesIndex)) {
      const demo = isDemo(o)
        ? `<br>★ ${esc(T["demo_" + o.demonstration_level] || o.demonstration_level)}` +
          (o.demonstration_year ? ` ${o.demonstration_year}` : "")
        : "";
      return `<b>${esc(o.name)}</b><br>${esc(o.owner_name)}${demo}<br>` +
        `${esc(T.project_reduction)}: ${fmt(o.reduction_tco2_per_yr)} tCO₂`;
    }
    return `<b>${esc(o.name)}</b> (${fmt(o.voltage_kv, 0)} kV)<br>${esc(T.metric_electricity)}: ` +
      `${fmt(o.electricity_mwh)} MWh<br>${esc(T.intensity)}: ${fmt(o.intensity_tco2_per_mwh, 4)} tCO₂/MWh`;
  }

  function sizeScale(values, lo, hi) {
    const ok = (v) => typeof v === "number" && Number.isFinite(v) && v > 0;
    const finite = values.filter(ok);
    const max = finite.length ? Math.max(...finite) : 1;
    return (v) => (ok(v) ? lo + (hi - lo) * Math.sqrt(v / max) : lo);
  }

  async function load() {
    if (!state.period) return;
    const seq = ++state.seq;
    const q = "?period=" + encodeURIComponent(state.period);
    setStatus(T.loading);
    try {
      const [districts, points] = await Promise.all([
        getJSON("/districts" + q),
        districtsOnly ? NO_POINTS : getJSON("/points" + q),
      ]);
      if (seq !== state.seq) return; // a newer period was chosen meanwhile
      draw(districts, points);
      setStatus("");
    } catch (err) {
      setStatus(T.error + ": " + err.message, true);
    }
  }

  function draw(districts, points) {
    const metric = state.metric;
    state.districts = districts.districts;
    const vals = state.districts.filter((d) => d.visible && d[metric] !== null).map((d) => d[metric]);
    const max = vals.length ? Math.max(...vals) : 1;
    const cols = points.enterprises.columns;
    const ix = Object.fromEntries(cols.map((c, i) => [c, i]));
    const ents = points.enterprises.rows.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]])));
    // enterprises are sized by the chosen indicator where they carry it, else by their CO2
    const entMetric = ix[metric] === undefined ? "co2_t" : metric;
    const entSize = sizeScale(ents.map((e) => e[entMetric]), 3, 26);
    const nodeSize = sizeScale(points.nodes.map((n) => n.electricity_mwh), 7, 22);
    const blue = points.blue_carbon || [];
    state.blue = blue;
    const blueSize = sizeScale(blue.map((b) => -(b.co2_t || 0)), 9, 24);
    chart.setOption({
      // the legend names the indicator, its unit and the period
      visualMap: { min: 0, max: max || 1, text: [mappedLabel(), ""] },
      series: [
        {
          data: state.districts.map((d) => ({
            name: d.code,
            value: d.visible ? d[metric] : null,
            itemStyle: d.visible ? undefined : { areaColor: "#eceff1" },
          })),
        },
        { data: points.parks.map((p) => ({ value: [p.lon, p.lat, 14], item: p })) },
        {
          data: ents.map((e) => ({ value: [e.lon, e.lat, entSize(e[entMetric])], item: e })),
        },
        {
          data: points.nodes.map((n) => ({
            value: [n.lon, n.lat, nodeSize(n.electricity_mwh)], item: n,
          })),
        },
        {}, // district labels: unchanged
        {}, // the project reserve: loaded once (loadProjects)
        { data: blue.map((b) => ({ value: [b.lon, b.lat, blueSize(-(b.co2_t || 0))], item: b })) },
      ],
    });
    root.dataset.period = state.period;
    root.dataset.kind = districts.kind;
    root.dataset.districts = String(state.districts.length);
    root.dataset.enterprises = String(ents.length);
    root.dataset.blueCarbon = String(blue.length);
    root.dataset.blueCarbonPolygons = String(blue.filter((b) => b.geometry).length);
    root.dataset.ready = "1";
  }

  // ------------------------------------------------------------------ side panel
  function row(label, value) {
    return `<tr><th>${esc(label)}</th><td>${value}</td></tr>`;
  }
  function showDistrictValues(code) {
    const d = state.districts.find((x) => x.code === code);
    if (!d) return;
    const metrics = [...els.metric.options].map((o) => o.value).filter((k) => d[k] != null);
    els.panel.innerHTML =
      `<h3>${esc(nameOf(d))} <small>${esc(d.code)} · ${esc(state.period)}</small></h3>` +
      mappedLine() + `<table>` +
      metrics.map((k) => row(METRICS[k].label, fmt(d[k]) + " " + METRICS[k].unit)).join("") +
      row(T.area, fmt(d.area_km2, 1) + " km²") + `</table>`;
  }
  async function showDistrict(code) {
    if (districtsOnly) return showDistrictValues(code);
    try {
      const d = await getJSON(`/districts/${encodeURIComponent(code)}?period=${state.period}`);
      const tops = d.top_enterprises.map((e) =>
        `<li><a href="${enterpriseUrl}${encodeURIComponent(e.credit_code)}">${esc(e.name)}</a>` +
        ` <span class="cc-num">${fmt(e.co2_t)} t</span></li>`).join("");
      const parks = d.parks.map((p) =>
        `<li><a href="#" data-park="${esc(p.code)}">${esc(nameOf(p))}</a>` +
        ` <span class="cc-num">${fmt(p.co2_t)} t</span></li>`).join("");
      els.panel.innerHTML =
        `<h3>${esc(nameOf(d))} <small>${esc(d.code)} · ${esc(d.period)}</small></h3>` +
        mappedLine() + `<table>` +
        row(T.metric_co2, fmt(d.co2_t) + " t") + row(T.metric_energy, fmt(d.energy_tce) + " tce") +
        row(T.metric_electricity, fmt(d.electricity_mwh) + " MWh") +
        row(T.enterprises, fmt(d.enterprises, 0) + " / " + fmt(d.enterprises_registered, 0)) +
        row(T.area, fmt(d.area_km2, 1) + " km²") + `</table>` +
        (parks ? `<h4>${esc(T.layer_parks)}</h4><ul>${parks}</ul>` : "") +
        `<h4>${esc(T.top_emitters)}</h4><ol>${tops || "<li>—</li>"}</ol>` +
        (d.positions_outside_district ? `<p class="cc-note">${esc(T.positions_outside)}: ${d.positions_outside_district}</p>` : "");
      els.panel.querySelectorAll("a[data-park]").forEach((a) =>
        a.addEventListener("click", (ev) => { ev.preventDefault(); showPark(a.dataset.park); }));
    } catch (err) {
      els.panel.innerHTML = `<p class="cc-map-error">${esc(err.message)}</p>`;
    }
  }
  async function showPark(code) {
    try {
      const p = await getJSON(`/parks/${encodeURIComponent(code)}?period=${state.period}`);
      const members = p.members.slice(0, 20).map((e) =>
        `<li><a href="${enterpriseUrl}${encodeURIComponent(e.credit_code)}">${esc(e.name)}</a>` +
        ` <span class="cc-num">${fmt(e.co2_t)} t</span></li>`).join("");
      els.panel.innerHTML =
        `<h3>${esc(nameOf(p))} <small>${esc(p.period)}</small></h3>` + mappedLine() + `<table>` +
        row(T.metric_co2, fmt(p.co2_t) + " t") + row(T.metric_energy, fmt(p.energy_tce) + " tce") +
        row(T.enterprises, fmt(p.enterprises, 0)) + `</table>` +
        `<h4>${esc(T.top_emitters)}</h4><ol>${members || "<li>—</li>"}</ol>`;
    } catch (err) {
      els.panel.innerHTML = `<p class="cc-map-error">${esc(err.message)}</p>`;
    }
  }
  function showEnterprise(e) {
    els.panel.innerHTML =
      `<h3>${esc(e.name)}</h3>` + mappedLine() + `<table>` + row(T.credit_code, esc(e.credit_code)) +
      row(T.metric_co2, fmt(e.co2_t) + " t") + row(T.metric_energy, fmt(e.energy_tce) + " tce") +
      row(T.metric_electricity, fmt(e.electricity_mwh) + " MWh") + row(T.industry, esc(e.industry_code)) +
      `</table><p><a class="cc-button" href="${enterpriseUrl}${encodeURIComponent(e.credit_code)}">` +
      `${esc(T.open_enterprise)} →</a></p>`;
  }
  function showBlueCarbon(b) {
    const sink = (v) => (v === null || v === undefined ? "—" : fmt(-v) + " tCO₂");
    els.panel.innerHTML =
      `<h3>${esc(b.site_name)}</h3><table>` + row(T.site_id, esc(b.site_id)) +
      row(T.ecosystem, esc(T["eco_" + b.ecosystem] || b.ecosystem)) +
      row(T.area_ha, fmt(b.area_ha, 1) + " ha") +
      row(`${T.annual_sink} ${b.year}`, sink(b.co2_t)) +
      row(T.sediment, sink(b.sediment_co2_t)) + row(T.vegetation, sink(b.vegetation_co2_t)) +
      (b.tier ? row("Tier", esc(b.tier)) : "") +
      row(T.method, blueMethods(b).map(esc).join("<br>") +
        ` <a class="method-link" href="/methods/city_net_emissions">${esc(T.methods_link)}</a>`) +
      row(T.boundary, b.geometry ? esc(T.boundary_polygon) : esc(T.boundary_point)) + `</table>`;
  }
  function showNode(n) {
    els.panel.innerHTML =
      `<h3>${esc(n.name)}</h3>` + mappedLine() + `<table>` + row(T.node_id, esc(n.node_id)) +
      row(T.voltage, fmt(n.voltage_kv, 0) + " kV") + row(T.meters, fmt(n.meters, 0)) +
      row(T.metric_electricity, fmt(n.electricity_mwh) + " MWh") +
      row(T.metric_electricity_co2, fmt(n.electricity_co2_t) + " t") +
      row(T.intensity, fmt(n.intensity_tco2_per_mwh, 4) + " tCO₂/MWh") + `</table>` +
      `<p class="cc-note">${esc(T.intensity_note)}</p>`;
  }

  chart.on("click", (p) => {
    if (p.componentType === "geo" || p.seriesIndex === 0) return showDistrict(p.name);
    const o = p.data && p.data.item;
    if (!o) return;
    if (p.seriesIndex === 1) return showPark(o.code);
    if (p.seriesIndex === 2) return showEnterprise(o);
    if (p.seriesIndex === 3) return showNode(o);
    if (PROJECT_SERIES.includes(p.seriesIndex)) {
      window.location.href = "/techmap/projects#project-" + encodeURIComponent(o.project_id);
    }
    if (p.seriesIndex === 6) return showBlueCarbon(o);
  });

  async function loadProjects() {
    // every readable project with a position (the API applies the user's scope)
    const res = await fetch("/api/v1/techmap/projects?limit=1000", {
      headers: { Accept: "application/json" },
    });
    if (!res.ok) return;
    const body = await res.json();
    const rows = body.items.filter((o) => o.lon !== null && o.lat !== null);
    const points = (list) => list.map((o) => ({ value: [o.lon, o.lat], item: o }));
    const demos = rows.filter(isDemo);
    chart.setOption({ series: [{}, {}, {}, {}, {}, { data: points(rows) }, {}, { data: points(demos) }] });
    root.dataset.projects = String(rows.length);
    root.dataset.demoProjects = String(demos.length);
  }

  // ------------------------------------------------------------------ controls
  els.kind.addEventListener("change", () => setKind(els.kind.value, state.period));
  els.slider.addEventListener("input", () => {
    els.period.textContent = state.list[+els.slider.value] || "—";
  });
  els.slider.addEventListener("change", () => choose(+els.slider.value));
  els.metric.addEventListener("change", () => { state.metric = els.metric.value; load(); });
  els.play.addEventListener("click", () => {
    if (state.timer) {
      clearInterval(state.timer);
      state.timer = null;
      els.play.textContent = "▶";
      return;
    }
    els.play.textContent = "❚❚";
    state.timer = setInterval(() => {
      const i = (+els.slider.value + 1) % state.list.length;
      els.slider.value = i;
      choose(i);
    }, 1200);
  });
  window.addEventListener("resize", () => chart.resize());

  // ------------------------------------------------------------------ start
  (async function start() {
    setStatus(T.loading);
    try {
      const [geojson, periods] = await Promise.all([getJSON("/boundaries"), getJSON("/periods")]);
      echarts.registerMap("cc-city", geojson);
      for (const f of geojson.features) state.names[f.properties.code] = f.properties;
      state.periods = periods;
      chart.setOption(baseOption(geojson));
      loadProjects().catch(() => { root.dataset.projects = "error"; });
      if (!periods.months.length) {
        setStatus(T.no_data, true);
        return;
      }
      const dayOption = els.kind.querySelector('option[value="day"]');
      if (!periods.days && dayOption) dayOption.disabled = true;
      setKind(els.kind.value || "month");
    } catch (err) {
      setStatus(T.error + ": " + err.message, true);
    }
  })();
})();
