// The page of report.html around its data: plain HTML, CSS and a small script that draws every figure as
// inline SVG (the dead-neuron images on a canvas). Nothing is fetched: the page works from a file:// URL with
// the network off. Placeholders: @TITLE@, @EXPECTED@ (the figure count) and @DATA@ (the JSON of report.cpp).
#include "runtime/pages/report.h"

namespace netc {

const char* const kReportPage = R"PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>netc report: @TITLE@</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1380px; color: #1d2330; background: #fff; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 1px solid #dde2ea; padding-bottom: 3px; }
  h3 { font-size: 14px; margin: 0 0 6px; }
  .sub { color: #5b6475; margin: 0 0 14px; }
  #findings ul { margin: 4px 0 10px; padding-left: 20px; }
  #findings li { margin: 3px 0; }
  #findings li.warning::marker { content: "! "; color: #c0392b; font-weight: bold; }
  #findings li.ok::marker { content: "\2713  "; color: #27864a; }
  .grid { display: flex; flex-wrap: wrap; gap: 18px; }
  figure.fig { margin: 0; padding: 10px 12px; border: 1px solid #dde2ea; border-radius: 6px; width: 640px; }
  figure.fig figcaption { color: #4a5263; font-size: 12.5px; margin-top: 6px; }
  figure.fig[data-error] { border-color: #c0392b; }
  svg text { font: 11px system-ui, sans-serif; fill: #3b4352; }
  svg .axis { stroke: #8a93a3; stroke-width: 1; }
  svg .grid { stroke: #eceff4; stroke-width: 1; }
  svg .guide { stroke: #c0392b; stroke-dasharray: 5 4; stroke-width: 1.2; }
  .masks { display: flex; flex-direction: column; gap: 10px; }
  .masks canvas { image-rendering: pixelated; border: 1px solid #8a93a3; background: #000; }
  .legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
  .legend i { display: inline-block; width: 12px; height: 3px; margin-right: 5px; vertical-align: middle; }
  .legend.block span { display: block; margin: 1px 0; }
  .panel { font-size: 12px; font-weight: 600; margin: 4px 0 0; }
  .controls { font-size: 13px; margin: 0 0 10px; }
  .controls label { margin-right: 14px; }
  .figctl { font-size: 12.5px; margin: 0 0 4px; }
</style>
</head>
<body data-figures-expected="@EXPECTED@" data-figures-drawn="0">
<h1>netc report: <span id="model"></span></h1>
<p class="sub" id="subtitle"></p>
<section id="findings"></section>
<div id="figures"></div>
<script type="application/json" id="data">@DATA@</script>
<script>
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('data').textContent);
  const body = document.body;
  const NS = 'http://www.w3.org/2000/svg';
  const W = 616, H0 = 260, M = { l: 58, r: 14, t: 12, b: 38 };
  const COLORS = ['#2e6fdb', '#e07b1a', '#27864a', '#b8398f', '#6b4fc8', '#c0392b', '#148f9a', '#7a6a12'];
  // One colour per series; beyond the palette (deep stacks), hues spread evenly around the wheel.
  const color = (i, n) => n <= COLORS.length ? COLORS[i % COLORS.length] : 'hsl(' + Math.round(360 * i / n) + ',65%,42%)';
  let drawn = 0;
  const errors = [];

  // A bidirectional control (U+202E ...) in a name is shown as the text \u202e, as netc's messages show it: raw,
  // it would reorder the text around it.
  const unbidi = s => String(s).replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, c => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  function el(tag, attrs, parent, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = unbidi(text);
    if (parent) parent.appendChild(e);
    return e;
  }
  function sv(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = unbidi(text);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a >= 1e6 && a < 1e9) return +(v / 1e6).toPrecision(3) + 'M';  // step counts: 200k, 1.5M
    if (a >= 1e4 && a < 1e6) return +(v / 1e3).toPrecision(3) + 'k';
    if (a >= 1e9 || a < 1e-3) return v.toExponential(0);
    return String(+v.toPrecision(3));
  }
  // About n round tick values covering [lo, hi].
  function ticks(lo, hi, n) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= raw) || 10 * mag;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  // 1, 2, 5 (and 3 when few) times powers of ten inside [lo, hi], for log axes.
  function logTicks(lo, hi) {
    for (const mults of [[1, 2, 3, 5], [1, 2, 5], [1, 3], [1]]) {
      const out = [];
      for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
        for (const m of mults) {
          const v = +(m * Math.pow(10, e)).toPrecision(6);
          if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
        }
      if (out.length <= 8 || mults.length === 1) return out.length ? out : [lo, hi];
    }
  }

  // A figure box: title, plot area, explanation. Drawing errors mark the figure instead of stopping the page.
  // `draw` may return the number of series it drew (data-series, which the test reads). The returned
  // function draws the figure again (a switch changed what it shows); only the first drawing is counted.
  function figure(parent, kind, title, explanation, draw, id) {
    const fig = el('figure', { class: 'fig', 'data-kind': kind }, parent);
    if (id) fig.id = id;
    el('h3', {}, fig, title);
    const ctl = el('div', { class: 'figctl' }, fig);
    const plot = el('div', { class: 'plot' }, fig);
    el('figcaption', {}, fig, explanation);
    const run = () => {
      try {
        plot.textContent = '';
        fig.removeAttribute('data-error');
        const n = draw(plot, ctl);
        if (typeof n === 'number') fig.setAttribute('data-series', String(n));
        if (!fig.hasAttribute('data-drawn')) {
          fig.setAttribute('data-drawn', '1');
          drawn += 1;
          body.setAttribute('data-figures-drawn', String(drawn));
        }
      } catch (e) {
        errors.push(title + ': ' + e);
        fig.setAttribute('data-error', String(e));
        body.setAttribute('data-errors', errors.join('; '));
      }
    };
    run();
    return run;
  }

  function frame(plot, xr, yr, opt) {
    const H = opt.height || H0;
    const svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H }, plot);
    const pw = W - M.l - M.r, ph = H - M.t - M.b;
    const fy = opt.logY ? (v => Math.log10(v)) : (v => v);
    const y0 = fy(yr[0]), y1 = fy(yr[1]);
    const X = v => M.l + (v - xr[0]) / ((xr[1] - xr[0]) || 1) * pw;
    const Y = v => M.t + ph - (fy(v) - y0) / ((y1 - y0) || 1) * ph;
    const yt = opt.logY ? logTicks(yr[0], yr[1]) : ticks(yr[0], yr[1], 5);
    for (const t of yt) {
      sv('line', { class: 'grid', x1: M.l, x2: W - M.r, y1: Y(t), y2: Y(t) }, svg);
      sv('text', { x: M.l - 6, y: Y(t) + 4, 'text-anchor': 'end' }, svg, opt.yFormat ? opt.yFormat(t) : fmt(t));
    }
    for (const t of (opt.xTicks || ticks(xr[0], xr[1], 6)))
      sv('text', { x: X(t), y: H - M.b + 15, 'text-anchor': 'middle' }, svg, opt.xFormat ? opt.xFormat(t) : fmt(t));
    sv('line', { class: 'axis', x1: M.l, x2: W - M.r, y1: M.t + ph, y2: M.t + ph }, svg);
    sv('line', { class: 'axis', x1: M.l, x2: M.l, y1: M.t, y2: M.t + ph }, svg);
    sv('text', { x: M.l + pw / 2, y: H - 4, 'text-anchor': 'middle' }, svg, opt.xLabel || '');
    sv('text', { x: 12, y: M.t + ph / 2, 'text-anchor': 'middle', transform: 'rotate(-90 12 ' + (M.t + ph / 2) + ')' },
       svg, opt.yLabel || '');
    return { svg, X, Y };
  }

  function legend(plot, items, block) {
    const lg = el('div', { class: block ? 'legend block' : 'legend' }, plot);
    for (const it of items) {
      const s = el('span', {}, lg);
      el('i', { style: 'background:' + it.color }, s);
      s.appendChild(document.createTextNode(unbidi(it.label)));
    }
  }

  // series: [{label, points: [[x, y], ...]}]; null or (logY) non-positive values break the line.
  function lineChart(plot, series, opt) {
    const ok = v => v !== null && isFinite(v) && (!opt.logY || v > 0);
    const xs = [], ys = [];
    for (const s of series) for (const [x, y] of s.points) if (ok(y)) xs.push(x), ys.push(y);
    for (const g of opt.guides || []) ys.push(g.y);
    let xr = opt.xRange || (xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1]);
    if (xr[0] === xr[1]) xr = [xr[0] - 1, xr[1] + 1];
    let yr = opt.yRange || (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
    if (yr[0] === yr[1]) yr = opt.logY ? [yr[0] / 2, yr[1] * 2] : [yr[0] - 1, yr[1] + 1];
    if (opt.logY && yr[1] < yr[0] * 1.2) yr = [yr[0] / 1.1, yr[1] * 1.1];  // one point (a --steps 0 run) beside ln V
    // One collection (a --steps 0 run): its step is the only tick.
    const f = frame(plot, xr, yr, xs.length && xs.every(x => x === xs[0]) && !opt.xTicks ? { ...opt, xTicks: [xs[0]] } : opt);
    for (const g of opt.guides || []) {
      sv('line', { class: 'guide', x1: M.l, x2: W - M.r, y1: f.Y(g.y), y2: f.Y(g.y) }, f.svg);
      sv('text', { x: M.l + 6, y: f.Y(g.y) - 5, 'text-anchor': 'start', style: 'fill:#c0392b' }, f.svg, g.label);
    }
    let count = 0;
    series.forEach((s, i) => {
      const color = s.color || COLORS[i % COLORS.length];
      if (s.points.some(([, y]) => ok(y))) count += 1;
      let d = '', pen = false;
      for (const [x, y] of s.points) {
        if (!ok(y)) { pen = false; continue; }
        d += (pen ? 'L' : 'M') + f.X(x).toFixed(1) + ' ' + f.Y(y).toFixed(1);
        pen = true;
      }
      if (d) sv('path', { class: 'series', d, fill: 'none', stroke: color, 'stroke-width': s.width || 1.5 }, f.svg);
      if (s.dots || s.points.length === 1)
        for (const [x, y] of s.points)
          if (ok(y)) sv('circle', { cx: f.X(x), cy: f.Y(y), r: 3.5, fill: color, stroke: '#fff' }, f.svg);
      s.color = color;
    });
    legend(plot, series, opt.legendBlock);
    return count;
  }

  // hists: [{label, h: {lo, hi, under, over, counts}}], drawn over each other, as shares of their totals.
  function histChart(plot, hists, opt) {
    const n = hists[0].h.counts.length, lo = hists[0].h.lo, hi = hists[0].h.hi;
    const share = h => {
      const t = h.counts.reduce((a, b) => a + b, 0) + h.under + h.over;
      return h.counts.map(c => (t > 0 ? c / t : 0));
    };
    const shares = hists.map(x => share(x.h));
    const top = Math.max(1e-9, ...shares.flat());
    const f = frame(plot, [lo, hi], [0, top], { xLabel: opt.xLabel, yLabel: 'share of values', yFormat: v => (100 * v).toFixed(0) + '%' });
    const bw = (f.X(hi) - f.X(lo)) / n;
    hists.forEach((x, i) => {
      const color = COLORS[i % COLORS.length];
      shares[i].forEach((s, b) => {
        if (s <= 0) return;
        sv('rect', { x: f.X(lo) + b * bw + 0.5, y: f.Y(s), width: Math.max(bw - 1, 1), height: f.Y(0) - f.Y(s),
                     fill: color, 'fill-opacity': 0.45, stroke: color, 'stroke-width': 0.6 }, f.svg);
      });
      x.color = color;
      const t = x.h.counts.reduce((a, b) => a + b, 0) + x.h.under + x.h.over;
      if (x.h.under + x.h.over > 0)
        x.label += ' (' + (100 * x.h.under / t).toFixed(1) + '% below ' + lo + ', ' + (100 * x.h.over / t).toFixed(1) + '% above ' + hi + ')';
    });
    legend(plot, hists);
  }

  // The lecture's imshow(h.abs() > 0.99): one pixel per (example, unit), white where saturated.
  function maskImage(parent, rows, units, caption) {
    const box = el('div', {}, parent);
    el('div', { style: 'font-size:12px;margin-bottom:3px' }, box, caption);
    const c = el('canvas', { width: units, height: rows }, box);
    // Stretched to the figure's width; rows twice as tall as columns are wide, since there are fewer of them.
    const scale = Math.max(1, Math.floor(600 / Math.max(units, 1)));
    c.style.width = units * scale + 'px';
    c.style.height = Math.min(rows * scale * 2, 320) + 'px';
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(units, rows);
    return { box, ctx, img, c };
  }
  function drawMask(parent, hexRows, units, caption) {
    if (!hexRows || !hexRows.length) throw new Error('no mask rows');
    const m = maskImage(parent, hexRows.length, units, caption);
    hexRows.forEach((row, r) => {
      if (row.length * 4 < units) throw new Error('mask row ' + r + ' is too short');
      for (let u = 0; u < units; u++) {
        const bit = (parseInt(row[u >> 2], 16) >> (3 - (u & 3))) & 1;
        const o = 4 * (r * units + u), v = bit ? 255 : 0;
        m.img.data[o] = m.img.data[o + 1] = m.img.data[o + 2] = v;
        m.img.data[o + 3] = 255;
      }
    });
    m.ctx.putImageData(m.img, 0, 0);
  }

  // ---- the page ----
  document.getElementById('model').textContent = unbidi(D.model);
  const steps = !D.train.length ? 0 : D.last_step !== undefined ? D.last_step + 1 : D.train[D.train.length - 1][0] + 1;
  document.getElementById('subtitle').textContent = steps || D.last_step === undefined
    ? 'Training statistics from netc: ' + steps + ' steps; probes collected at step 0, every probe_every steps and at the last step.'
    : 'Statistics from netc at initialisation: one forward and backward pass on the first batch, no update.';

  const fd = document.getElementById('findings');
  for (const [key, title] of [['initial', 'Diagnoses at step 0'], ['final', 'Diagnoses at the end']]) {
    if (!D.findings[key].length) continue;
    el('h2', {}, fd, title);
    const ul = el('ul', {}, fd);
    for (const f of D.findings[key]) el('li', { class: f.warning ? 'warning' : 'ok' }, ul, f.text);
  }

  const figs = document.getElementById('figures');
  el('h2', {}, figs, 'Loss');
  const lossGrid = el('div', { class: 'grid' }, figs);
  figure(lossGrid, 'loss', 'Loss curve',
    'Mean cross-entropy of the training minibatches (averaged over runs of steps) and of the whole dev split, on a log ' +
    'scale. The dashed line is the loss of a uniform guess, ln V: a start far above it means a confidently wrong ' +
    'initialisation (the hockey stick); a dev loss pulling away above the training loss means overfitting.',
    plot => {
      const V = D.vocab;
      const series = [{ label: 'train (minibatches)', points: D.train }, { label: 'dev (whole split)', points: D.dev, width: 2.2, dots: true }];
      lineChart(plot, series, { logY: true, xLabel: 'step', yLabel: 'loss',
                                guides: V > 1 ? [{ y: Math.log(V), label: 'uniform guess ln ' + V }] : [] });
    });

  // ---- the lecture's four figures: every layer and every rank-2 parameter overlaid ----
  const f2 = v => (v === null || v === undefined) ? 'n/a' : v.toFixed(2);
  const pct = (v, d) => (v === null || v === undefined) ? 'n/a' : (100 * v).toFixed(d) + '%';
  // 1.2e-6, 3.9e-3, 2.8 (not 2.8e+0), 1.5e2
  const sci = v => (v === null || v === undefined) ? 'n/a' : v === 0 ? '0'
                 : v.toExponential(1).replace(/e\+0$/, '').replace('e+', 'e');
  const decade = e => e === 0 ? '1' : e === 1 ? '10' : '1e' + e;
  const total = h => h.counts.reduce((a, b) => a + b, 0) + h.under + h.over;
  // Bin centres against density (share per unit of x), as the lecture's plt.plot(hx[:-1], hy) of
  // torch.histogram(..., density=True); `rest` counts values in no bin at all (a gradient's exact zeros).
  function density(h, rest) {
    const n = h.counts.length, bw = (h.hi - h.lo) / n, t = total(h) + (rest || 0);
    return h.counts.map((c, b) => [h.lo + (b + 0.5) * bw, t > 0 ? c / (t * bw) : 0]);
  }
  // Where the histograms of either collection have values, widened to whole units (decades for gradients).
  function occupied(hists, lo, hi) {
    let a = Infinity, b = -Infinity;
    for (const h of hists) {
      const bw = (h.hi - h.lo) / h.counts.length;
      h.counts.forEach((c, i) => { if (c > 0) a = Math.min(a, h.lo + i * bw), b = Math.max(b, h.lo + (i + 1) * bw); });
    }
    if (!(b > a)) return [lo, hi];
    return [Math.max(lo, Math.floor(a)), Math.min(hi, Math.ceil(b))];
  }
  function outside(h, rest, loText, hiText) {
    const t = total(h) + (rest || 0), out = [];
    if (t > 0 && h.under > 0) out.push(pct(h.under / t, 1) + ' ' + loText);
    if (t > 0 && h.over > 0) out.push(pct(h.over / t, 1) + ' ' + hiText);
    return out.length ? ' (' + out.join(', ') + ')' : '';
  }
  const zeros = g => g.zero > 0 && g.zero < 1 ? total(g.hist) * g.zero / (1 - g.zero) : 0;
  const layers = D.probes.filter(p => p.layer);
  const gradLayers = layers.filter(p => p.at0.grad);
  const weights = D.params.filter(q => q.shape.length === 2);
  const weightGrads = D.params.filter(q => q.at0.grad);
  const firstStep = D.first_step, lastStep = D.last_step;
  const twoSteps = firstStep !== undefined && firstStep !== lastStep;
  // The page's address can preset the switches: report.html#last shows the last collection in figures 1-3,
  // #biases the rank-1 parameters in figure 4 (#last,biases both).
  const preset = location.hash.slice(1).split(',');
  let showLast = twoSteps && preset.includes('last');  // the switch of figures 1-3: step 0 or the last collection
  const at = x => showLast ? x.atN : x.at0;
  const shown = () => 'step ' + (showLast ? lastStep : firstStep);

  function activationLabel(p, m) {
    const base = p.name + ' (' + p.kind + '): mean ' + f2(m.mean) + ', std ' + f2(m.std) + ', ';
    if (p.kind === 'relu') return base + 'zero ' + pct(m.flat, 1);
    if (p.kind === 'sigmoid') return base + 'saturated ' + pct(m.sat_lo, 2) + ' near 0, ' + pct(m.sat_hi, 2) + ' near 1';
    return base + 'saturated ' + pct(m.sat, 2);
  }
  const shapeText = q => '[' + q.shape.join(', ') + ']';

  const redraws = [];
  if (layers.length || weightGrads.length) {
    el('h2', {}, figs, 'Activations, gradients and updates of every layer');
    if (twoSteps) {
      const ctl = el('div', { class: 'controls', id: 'step-switch' }, figs);
      ctl.appendChild(document.createTextNode('Figures 1\u20133 show: '));
      for (const [last, text] of [[false, 'step ' + firstStep + ' (initialisation)'], [true, 'step ' + lastStep + ' (the last collection)']]) {
        const lab = el('label', {}, ctl);
        const r = el('input', { type: 'radio', name: 'when', value: last ? 'last' : 'first' }, lab);
        r.checked = last === showLast;
        r.addEventListener('change', () => { showLast = last; for (const f of redraws) f(); });
        lab.appendChild(document.createTextNode(' ' + text));
      }
    }
  }
  const overview = el('div', { class: 'grid', id: 'overview' }, figs);
  const layerColor = p => color(layers.indexOf(p), layers.length);

  if (layers.length)
    redraws.push(figure(overview, 'activations', '1. Activation distribution of every layer',
      'Histogram of each activation layer\'s outputs at the chosen step, one line per layer, as a density (share per ' +
      'unit of x) so layers of different widths compare: the lecture\'s plot of torch.histogram(h, density=True). ' +
      'Saturated: beyond the threshold train.saturation (tanh |t| > ' + (layers[0].threshold || 0.97) + '). In a ' +
      'well-initialised stack the layers look alike, with small peaks at the ends; tall peaks at \u00b11 (tanh) or ' +
      '0 and 1 (sigmoid) mean saturated units with little local gradient, curves that narrow layer by layer mean ' +
      'the signal shrinks towards 0 with depth. Layers of different kinds get their own panels.',
      plot => {
        const kinds = [...new Set(layers.map(p => p.kind))];
        let n = 0;
        for (const k of kinds) {
          const ls = layers.filter(p => p.kind === k);
          const hists = ls.map(p => (showLast ? p.histN : p.hist0));
          const lo = hists[0].lo, hi = hists[0].hi;
          const xr = k === 'relu' ? occupied(ls.flatMap(p => [p.hist0, p.histN]), lo, hi) : [lo, hi];
          const both = ls.flatMap(p => [...density(p.hist0), ...density(p.histN)].map(([, y]) => y));
          if (kinds.length > 1) el('div', { class: 'panel' }, plot, k + ' layers');
          n += lineChart(plot, ls.map((p, i) => ({
            label: activationLabel(p, at(p)) + outside(hists[i], 0, 'below ' + lo, 'at or above ' + hi),
            points: density(hists[i]), color: layerColor(p) })),
            { xLabel: k + ' output (' + shown() + ')', yLabel: 'density', xRange: xr,
              yRange: [0, Math.max(1e-9, ...both) * 1.05], legendBlock: true, height: kinds.length > 1 ? 200 : undefined });
        }
        return n;
      }, 'fig-activations'));

  if (gradLayers.length)
    redraws.push(figure(overview, 'activation-grads', '2. Gradient distribution at every layer',
      'Histogram of the gradient of the loss with respect to each layer\'s outputs, one line per layer, over ' +
      'log10 |d loss / d activation|. The axis is logarithmic because gradient scales differ by orders of ' +
      'magnitude between layers and over training; the fixed bins of 0.2 decades keep every layer and every ' +
      'step comparable bin for bin (the sign is left to the mean). A layer shifted left gets less gradient than ' +
      'the others: vanishing gradients, which in a stack started too small hit the first layers, furthest from ' +
      'the loss; one shifted right gets more (exploding, as in a stack started too large). In a healthy stack ' +
      'the curves lie on top of each other.',
      plot => {
        const lo = gradLayers[0].at0.grad.hist.lo, hi = gradLayers[0].at0.grad.hist.hi;
        const all = gradLayers.flatMap(p => [p.at0.grad, p.atN.grad].filter(g => g));
        const ys = all.flatMap(g => density(g.hist, zeros(g)).map(([, y]) => y));
        const xr = occupied(all.map(g => g.hist), lo, hi);
        return lineChart(plot, gradLayers.map(p => {
          const g = at(p).grad;
          if (!g) return { label: p.name + ': no gradient', points: [], color: layerColor(p) };
          return { label: p.name + ': mean ' + sci(g.mean) + ', std ' + sci(g.std) + (g.zero > 0 ? ', exactly 0: ' + pct(g.zero, 1) : '') +
                          outside(g.hist, zeros(g), 'below ' + decade(lo), 'at or above ' + decade(hi)),
                   points: density(g.hist, zeros(g)), color: layerColor(p) };
        }), { xLabel: '|d loss / d activation| (log scale, ' + shown() + ')', yLabel: 'density per decade', xRange: xr,
              xTicks: ticks(xr[0], xr[1], 10).filter(Number.isInteger), xFormat: decade,
              yRange: [0, Math.max(1e-9, ...ys) * 1.05], legendBlock: true });
      }, 'fig-activation-grads'));

  if (weightGrads.length)
    redraws.push(figure(overview, 'weight-grads', '3. Weight-gradient distribution of every rank-2 parameter',
      'Histogram of the gradient of the loss with respect to each matrix (the embedding table and the weights; ' +
      'biases are left out, as in the lecture), one line per parameter, over log10 |d loss / d W| in the same fixed ' +
      'decade bins. grad:data is std(grad) / std(W): a parameter whose gradient is large against its values ' +
      'would move much faster than the others under one learning rate (the lecture\'s last layer at the start).',
      plot => {
        const lo = weightGrads[0].at0.grad.hist.lo, hi = weightGrads[0].at0.grad.hist.hi;
        const all = weightGrads.flatMap(q => [q.at0.grad, q.atN.grad].filter(g => g));
        const ys = all.flatMap(g => density(g.hist, zeros(g)).map(([, y]) => y));
        const xr = occupied(all.map(g => g.hist), lo, hi);
        return lineChart(plot, weightGrads.map((q, i) => {
          const m = at(q), g = m.grad, c = color(i, weightGrads.length);
          if (!g) return { label: q.name + ': no gradient', points: [], color: c };
          return { label: q.name + ' ' + shapeText(q) + ': mean ' + sci(g.mean) + ', std ' + sci(g.std) + ', grad:data ' +
                          sci(m.grad_to_data) + outside(g.hist, zeros(g), 'below ' + decade(lo), 'at or above ' + decade(hi)),
                   points: density(g.hist, zeros(g)), color: c };
        }), { xLabel: '|d loss / d W| (log scale, ' + shown() + ')', yLabel: 'density per decade', xRange: xr,
              xTicks: ticks(xr[0], xr[1], 10).filter(Number.isInteger), xFormat: decade,
              yRange: [0, Math.max(1e-9, ...ys) * 1.05], legendBlock: true });
      }, 'fig-weight-grads'));

  if (D.params.length) {
    // Rank-2 parameters by default, the others (biases, BatchNorm gains) on request; all of them when the model
    // has no matrix at all.
    let showOthers = weights.length === 0 || preset.includes('biases');
    const others = D.params.filter(q => q.shape.length !== 2);
    const run = figure(overview, 'update', '4. Update-to-data ratio over time',
      'log10 of std(lr \u00b7 grad) / std(parameter) at every collection, one line per rank-2 parameter (tick the ' +
      'box for biases and the other vectors). The lecture\'s rule of thumb is about -3 (the dashed line: each step ' +
      'changes a parameter by a thousandth of its spread): far below, it learns too slowly; far above, the learning ' +
      'rate is too high for it. A ratio at step 0 is what one step at the first learning rate would do.',
      (plot, ctl) => {
        if (!ctl.childNodes.length && others.length && weights.length) {
          const lab = el('label', {}, ctl);
          const box = el('input', { type: 'checkbox', id: 'show-biases' }, lab);
          box.checked = showOthers;
          box.addEventListener('change', () => { showOthers = box.checked; run(); });
          lab.appendChild(document.createTextNode(' show biases and other parameters of rank 1 (' + others.length + ')'));
        }
        const qs = D.params.filter(q => q.shape.length === 2 || showOthers);
        return lineChart(plot, qs.map((q, i) => ({ label: q.name + ' ' + shapeText(q), points: q.steps.map((s, k) => [s, q.ratio[k]]),
                                                   color: color(i, qs.length) })),
                         { xLabel: 'step', yLabel: 'log10(update / data)', guides: [{ y: -3, label: '-3' }] });
      }, 'fig-update');
  }

  // ---- per probe: its own cards ----
  const KIND = {
    tanh: { fn: 't = tanh(pre-activation)', flat: '|t| > 0.99', sat: thr => '|t| > ' + thr,
      out: 'Histogram of the outputs at step 0 and at the end. Mass piled up at -1 and 1 means saturated units: ' +
           'there the local gradient 1 - t\u00b2 is near 0 and the layer learns slowly. A healthy layer spreads ' +
           'over the whole range with thin tails at \u00b11.',
      pre: 'Histogram of the inputs to tanh. Beyond about \u00b12.5 tanh is flat: the wider this distribution, the more ' +
           'units saturate. Kaiming initialisation (gain 5/3 over sqrt(fan_in)) keeps it near unit spread.' },
    sigmoid: { fn: 's = sigmoid(pre-activation)', flat: 'within 0.01 of 0 or 1',
      sat: thr => 's < ' + +(1 - thr).toPrecision(6) + ' or s > ' + thr,
      out: 'Histogram of the outputs at step 0 and at the end. Mass piled up at 0 and 1 means saturated units: ' +
           'there the local gradient s(1 - s) is near 0 and the layer learns slowly.',
      pre: 'Histogram of the inputs to the sigmoid. Beyond about \u00b14.6 it is within 0.01 of 0 or 1: the wider ' +
           'this distribution, the more units saturate.' },
    relu: { fn: 'relu(pre-activation)', flat: 'exactly 0', sat: () => 'exactly 0',
      out: 'Histogram of the outputs at step 0 and at the end (the first bin holds the exact zeros; outputs of 10 ' +
           'and more are counted in the legend). A zero output passes no gradient back; a unit that is zero for ' +
           'every example is dead.',
      pre: 'Histogram of the inputs to relu: everything below 0 comes out exactly 0, with no gradient. Kaiming ' +
           'initialisation (gain sqrt(2) over sqrt(fan_in)) keeps the spread near unit.' },
  };
  let instance = null;  // the block instance whose values the figures below show (from the scope path)
  for (const p of D.probes) {
    const K = KIND[p.kind] || KIND.tanh;
    const inst = p.instance ? p.instance.path : null;
    if (inst !== instance && inst !== null)
      el('h2', { class: 'instance' }, figs, 'Instance ' + inst + ' (block ' + p.instance.block + ', used on line ' +
         p.instance.line + ')');
    instance = inst;
    el('h2', {}, figs, p.layer ? 'Layer ' + p.name + ' (' + p.kind + ')' : p.logits ? (p.name === 'logits' ? 'Logits' : 'Logits (' + p.name + ')') : 'Value ' + p.name);
    const grid = el('div', { class: 'grid' }, figs);
    const when = [{ label: 'step ' + p.first }, { label: 'step ' + p.last }];
    if (p.hist)
      figure(grid, 'hist', p.layer ? p.name + ': ' + p.kind + ' outputs' : p.name + ': values',
        p.layer ? K.out
                : 'Histogram of the values at step 0 and at the end (fixed bins; values outside the range are counted ' +
                  'in the legend). For logits, a wide spread at step 0 means confident predictions before any learning.',
        plot => histChart(plot, [{ label: when[0].label, h: p.hist0 }, { label: when[1].label, h: p.histN }],
                          { xLabel: p.layer ? K.fn : 'value' }));
    if (p.layer && p.hist)
      figure(grid, 'prehist', p.name + ': pre-activations', K.pre,
        plot => histChart(plot, [{ label: when[0].label, h: p.pre0 }, { label: when[1].label, h: p.preN }],
                          { xLabel: 'pre-activation' }));
    if (p.layer && p.saturation)
      figure(grid, 'saturation', p.name + (p.kind === 'relu' ? ': zero share over time' : ': saturation over time'),
        p.kind === 'relu'
          ? 'Share of outputs that are exactly 0 at every collection: no gradient flows back through them. Around ' +
            'half is usual for a relu layer; far more means many units are switched off.'
          : 'Share of outputs beyond the saturation threshold (train.saturation) and in the flat region (' + K.flat +
            '), at every collection. The lecture aims for a few percent; far more means the gradient through this ' +
            'layer is choked.',
        plot => lineChart(plot, p.kind === 'relu'
          ? [{ label: 'exactly 0', points: p.steps.map((s, i) => [s, p.beyond99[i]]) }]
          : [{ label: K.sat(p.threshold), points: p.steps.map((s, i) => [s, p.sat[i]]) },
             { label: K.flat, points: p.steps.map((s, i) => [s, p.beyond99[i]]) }],
          { xLabel: 'step', yLabel: 'share of outputs', yRange: [0, 1], yFormat: v => (100 * v).toFixed(0) + '%' }));
    if (p.time)
      figure(grid, 'time', p.name + ': over the time steps',
        'The value at each step of the loop (one probe per step, pooled in the figures above), at step ' + p.first +
        ' and at step ' + p.last + ' of training. Gradient: std of d loss / d value at each time step, on a log ' +
        'scale; backpropagation through time carries it from the last positions to the first, and a line that ' +
        'falls by orders of magnitude towards t = ' + p.time.at0.t[0] + ' means vanishing gradients through time ' +
        '(steps with no gradient at all, past the end of every word of the batch, are left out).' +
        (p.layer && p.kind !== 'relu' ? ' Saturated: the share beyond the threshold at each step (dashed).' : ''),
        plot => {
          const gs = [p.time.at0, p.time.atN].map((m, i) => ({ label: 'gradient std, ' + when[i].label,
                                                               points: m.t.map((t, k) => [t, m.grad[k]]), dots: true }));
          let n = lineChart(plot, gs, { logY: true, xLabel: 'time step t', yLabel: 'std of d loss / d ' + p.time.value });
          if (p.layer && p.kind !== 'relu')
            n += lineChart(plot, [p.time.at0, p.time.atN].map((m, i) => ({ label: 'saturated, ' + when[i].label,
                                                                            points: m.t.map((t, k) => [t, m.sat[k]]) })),
                           { xLabel: 'time step t', yLabel: 'share saturated', yRange: [0, 1], height: 160,
                             yFormat: v => (100 * v).toFixed(0) + '%' });
          return n;
        });
    if (p.layer && p.mask0 && p.mask0.length)
      figure(grid, 'dead', p.name + ': dead-neuron image',
        'One row per example of the batch, one column per unit; white where the output is ' + K.flat +
        (p.kind === 'tanh' ? ' (the lecture\'s imshow(h.abs() > 0.99))' : '') + '. A column white from top to ' +
        'bottom is a dead unit: flat for every example, so no gradient reaches its weights. Dead units: ' +
        p.dead_counts[0] + ' at step ' + p.first + ', ' + p.dead_counts[p.dead_counts.length - 1] + ' at step ' + p.last + '.',
        plot => {
          const row = el('div', { class: 'masks' }, plot);
          drawMask(row, p.mask0, p.units, 'step ' + p.first);
          drawMask(row, p.maskN, p.units, 'step ' + p.last);
        });
  }

  body.setAttribute('data-figures-drawn', String(drawn));
  body.setAttribute('data-done', '1');
})();
</script>
</body>
</html>
)PAGE";

}  // namespace netc
