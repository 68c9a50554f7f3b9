#include "runtime/pages/compare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/files/atomic_file.h"
#include "runtime/probes/diagnose.h"
#include "runtime/files/json_fields.h"
#include "runtime/pages/page_json.h"
#include "runtime/pages/page_template.h"
#include "runtime/probes/stats.h"
#include "support/diag.h"
#include "support/files.h"

namespace netc {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using page::num;
using page::findingsJson;
using page::lossCurve;

// Whether a run folder has an entry of this name; a dangling link or one that cannot be looked up (permission
// denied) counts as present, so that reading it says what is wrong instead of the file being silently skipped.
bool present(const fs::path& p) {
  std::error_code ec;
  return fs::symlink_status(p, ec).type() != fs::file_type::not_found;
}

// The most netc reads of a run's config.json or result.json (a few kilobytes when netc wrote them).
constexpr uint64_t kMaxRunJsonBytes = 64 << 20;

// A run's config.json or result.json as a JSON document; nullopt when the run has none (result.json of a run
// still training). Anything else that is not a regular file holding JSON fails, naming the file.
std::optional<json> readRunJson(const fs::path& p) {
  if (!present(p)) return std::nullopt;
  return parseStrictJson(readRegularFile(p.string(), "", kMaxRunJsonBytes), p.string());
}

// An error's message without its "netc: error: " and final newline, to be said in another sentence.
std::string bareMessage(const Error& e) {
  std::string m = e.what();
  const std::string prefix = "netc: error: ";
  if (m.rfind(prefix, 0) == 0) m.erase(0, prefix.size());
  while (!m.empty() && m.back() == '\n') m.pop_back();
  return m;
}

std::optional<double> finite(std::optional<double> v) { return v && std::isfinite(*v) ? v : std::nullopt; }
json orNull(const auto& v) { return v ? json(*v) : json(nullptr); }

json layerMoments(const StatsSnapshot& s) {
  json out = json::array();
  for (const ProbeStats& p : s.probes)
    if (p.layer) out.push_back({{"name", p.name}, {"std", num(p.std)}, {"sat", num(p.saturatedShare)}});
  return out;
}

// One run's part of the page. Its config.json and result.json are read field by field with the types netc
// writes (json_fields.h): a damaged file fails naming the file and the field, and the run is left out.
json runJson(const std::string& dir) {
  const fs::path d(dir);
  const fs::path configPath = d / "config.json", resultPath = d / "result.json";
  const std::optional<json> configDoc = readRunJson(configPath), resultDoc = readRunJson(resultPath);
  json r = {{"folder", dir}, {"name", d.filename().string()}, {"model", ""}, {"steps", nullptr}, {"status", "unfinished"}};
  json sets = json::object();
  int64_t vocab = 0;
  if (configDoc) {
    const JsonFields config(*configDoc, configPath.string());
    if (auto model = config.object("model")) r["model"] = model->string("name").value_or("");
    for (const std::string& s : config.strings("overrides")) {
      const size_t eq = s.find('=');
      sets[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
    }
    if (auto train = config.object("train")) r["steps"] = orNull(train->count("steps"));
    if (auto v = config.object("vocabulary")) vocab = v->count("size").value_or(0);
  }
  r["set"] = sets;
  if (resultDoc) {
    const JsonFields result(*resultDoc, resultPath.string());
    if (result.boolean("diverged").value_or(false)) r["status"] = "diverged", r["divergence"] = result.string("divergence").value_or("");
    else if (result.number("total_seconds")) r["status"] = "done";
    r["initial"] = orNull(finite(result.number("initial_loss")));
    json fin = json::object();
    if (auto f = result.object("final"))
      for (const char* split : {"train", "dev", "test"})
        if (auto v = finite(f->number(split))) fin[split] = *v;
    r["final"] = fin;
    r["done"] = orNull(result.count("steps_done"));
    r["seconds"] = orNull(finite(result.number("train_seconds")));
  }
  // Losses: step,loss,lr after the header; partial last lines are dropped by the reader.
  std::vector<std::pair<int64_t, double>> train;
  if (present(d / "losses.csv"))
    for (const std::string& line : readCompleteLines((d / "losses.csv").string())) {
      int64_t step;
      double loss;
      if (std::sscanf(line.c_str(), "%ld,%lf", &step, &loss) == 2) train.emplace_back(step, loss);
    }
  r["train"] = lossCurve(train, 400);
  json dev = json::array();
  if (present(d / "evals.csv"))
    for (const std::string& line : readCompleteLines((d / "evals.csv").string())) {
      int64_t done;
      char split[16] = {0};
      double loss;
      if (std::sscanf(line.c_str(), "%ld,%15[a-z],%lf", &done, split, &loss) == 3 && std::string(split) == "dev")
        dev.push_back({done, num(loss)});
    }
  r["dev"] = dev;
  r["stats"] = false;
  if (present(d / "stats.jsonl")) {
    std::vector<StatsSnapshot> snaps;
    try {
      snaps = readStatsLog((d / "stats.jsonl").string());
    } catch (const Error& e) {
      r["stats_error"] = bareMessage(e);
    }
    if (!snaps.empty()) {
      r["stats"] = true;
      r["layers0"] = layerMoments(snaps.front());
      r["layersEnd"] = layerMoments(snaps.back());
      r["firstStep"] = snaps.front().step, r["lastStep"] = snaps.back().step;
      json ud = json::object();
      for (const StatsSnapshot& s : snaps)
        for (const ParamStats& p : s.params)
          if (p.shape.size() == 2) ud[p.name].push_back({s.step, num(p.updateToData)});
      r["ud"] = ud;
      DiagnosisContext ctx;
      ctx.vocab = vocab;
      r["find0"] = findingsJson(diagnose(snaps.front(), ctx, /*initial=*/true));
      if (snaps.size() > 1) r["findEnd"] = findingsJson(diagnose(snaps.back(), ctx, /*initial=*/false, &snaps.front()));
    }
  }
  return r;
}

const char* const kPage = R"PAGE(<!doctype html>
<html><head><meta charset="utf-8"><title>netc compare: @TITLE@</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.diverged td{background:#fde8e8}tr.unfinished td{color:#999}
figure{display:inline-block;margin:0.5em 1em 1em 0;vertical-align:top}figcaption{font-size:13px;color:#444;max-width:640px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.card{border:1px solid #ddd;border-radius:4px;padding:6px 10px;font-size:13px}.warn{color:#a33}.good{color:#264}
.key{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
svg text{font-size:11px;fill:#444}
</style></head>
<body data-figures-expected="@EXPECTED@" data-figures-drawn="0">
<h1>Comparing @COUNT@ runs</h1>
<p>Settings are each run's <code>--set</code> overrides (config.json); losses are the final exact losses over the whole
split (result.json). Generated by <code>netc compare</code>.</p>
<div id="table">@TABLE@</div>
<h2>Loss</h2>
<figure id="fig-loss"><svg width="900" height="380"></svg><figcaption>Minibatch loss (bucket means) and dev-split
evaluations (points), one colour per run; losses above twice the highest initial loss are drawn at the top edge.</figcaption></figure>
<div id="legend"></div>
<h2>Activation layers: step 0 and end</h2>
<figure id="fig-std"><svg width="640" height="300"></svg><figcaption>Output std per activation layer (in graph
order): dashed at step 0, solid at the last collection. Shrinking with depth: the gain is too low; near 1 and
saturated: too high.</figcaption></figure>
<figure id="fig-sat"><svg width="640" height="300"></svg><figcaption>Saturated share per activation layer (tanh
|t| &gt; threshold), dashed at step 0, solid at the end.</figcaption></figure>
<div id="layer-tables"></div>
<h2>update:data</h2>
<p>log10(std(lr &middot; grad) / std(data)) per rank-2 parameter over training; the lecture's guide is about -3.</p>
<div id="ud"></div>
<h2>Diagnoses</h2>
<div class="grid" id="diag"></div>
<script type="application/json" id="data">@DATA@</script>
<script>
// Every name and value from the runs goes into the page as text (h() and txt() set textContent), never as markup.
const DATA=JSON.parse(document.getElementById('data').textContent);
const COLORS=['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#17becf','#bcbd22','#7f7f7f'];
const color=i=>COLORS[i%COLORS.length];
const NS='http://www.w3.org/2000/svg';
let drawn=0, errors=[];
function el(tag,attrs,parent){const e=document.createElementNS(NS,tag);for(const k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e;}
// A bidirectional control (U+202E ...) in a name is shown as the text \u202e, as netc's messages show it.
const unbidi=s=>String(s).replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,c=>'\\u'+c.charCodeAt(0).toString(16).padStart(4,'0'));
function h(tag,attrs,...kids){const e=document.createElement(tag);for(const k in attrs||{})e.setAttribute(k,attrs[k]);
  for(const c of kids.flat(Infinity))if(c!==null&&c!==undefined&&c!==false)e.append(c instanceof Node?c:unbidi(c));return e;}
const key=c=>h('span',{class:'key',style:'background:'+c});
function txt(s,x,y,parent,anchor){const t=el('text',{x:x,y:y,'text-anchor':anchor||'start'},parent);t.textContent=unbidi(s);return t;}
function fmt(v){if(v===null||v===undefined||!isFinite(v))return '-';const a=Math.abs(v);return a!==0&&(a<1e-3||a>=1e5)?v.toExponential(2):(+v.toPrecision(4)).toString();}
// series: [{pts:[[x,y],...], color, dash, dots}]
function chart(svg,series,opt){
  const W=+svg.getAttribute('width'),H=+svg.getAttribute('height'),L=56,R=12,T=12,B=34;
  const cap=y=>opt.ymax!==undefined&&y>opt.ymax?opt.ymax:y;
  let xs=[],ys=[];for(const s of series)for(const p of s.pts)if(p[1]!==null&&isFinite(p[1])){xs.push(p[0]);ys.push(cap(p[1]));}
  if(opt.hlines)for(const h of opt.hlines)ys.push(h);
  if(!xs.length){txt('no data',W/2,H/2,svg,'middle');return;}
  let x0=Math.min(...xs),x1=Math.max(...xs),y0=Math.min(...ys),y1=Math.max(...ys);
  if(x1===x0)x1=x0+1;if(y1===y0){y0-=0.5;y1+=0.5;}const pad=(y1-y0)*0.05;y0-=pad;y1+=pad;
  const X=x=>L+(x-x0)/(x1-x0)*(W-L-R),Y=y=>T+(1-(cap(y)-y0)/(y1-y0))*(H-T-B);
  el('rect',{x:L,y:T,width:W-L-R,height:H-T-B,fill:'none',stroke:'#999'},svg);
  for(let i=0;i<=4;i++){const y=y0+(y1-y0)*i/4;el('line',{x1:L,x2:W-R,y1:Y(y),y2:Y(y),stroke:'#eee'},svg);txt(fmt(y),L-4,Y(y)+4,svg,'end');
    const x=x0+(x1-x0)*i/4;txt(opt.xticks?opt.xticks(x):fmt(Math.round(x)),X(x),H-B+15,svg,'middle');}
  if(opt.xlabel)txt(opt.xlabel,(L+W-R)/2,H-4,svg,'middle');
  if(opt.hlines)for(const h of opt.hlines)el('line',{x1:L,x2:W-R,y1:Y(h),y2:Y(h),stroke:'#888','stroke-dasharray':'2,3'},svg);
  for(const s of series){
    const pts=s.pts.filter(p=>p[1]!==null&&isFinite(p[1]));if(!pts.length)continue;
    if(s.dots){for(const p of pts)el('circle',{cx:X(p[0]),cy:Y(p[1]),r:3,fill:s.color,class:'dot'},svg);continue;}
    el('path',{d:pts.map((p,i)=>(i?'L':'M')+X(p[0]).toFixed(1)+','+Y(p[1]).toFixed(1)).join(''),fill:'none',stroke:s.color,
      'stroke-width':1.5,'stroke-dasharray':s.dash?'5,4':'',class:'series'},svg);
  }
}
function figure(id,fn){try{fn();drawn++;}catch(e){errors.push(id+': '+e);}}
const runs=DATA.runs;
figure('loss',()=>{const ser=[];runs.forEach((r,i)=>{ser.push({pts:r.train,color:color(i)});ser.push({pts:r.dev,color:color(i),dots:true});});
  // A diverged run's losses would flatten the others: the axis stops at twice the highest initial loss.
  const init=runs.map(r=>r.initial).filter(v=>v!==null&&v!==undefined&&isFinite(v));
  chart(document.querySelector('#fig-loss svg'),ser,init.length?{xlabel:'step',ymax:2*Math.max(...init)}:{xlabel:'step'});
  document.getElementById('legend').replaceChildren(...runs.map((r,i)=>h('span',{style:'margin-right:14px'},key(color(i)),r.label)));});
const withStats=runs.filter(r=>r.stats);
function layerFig(id,key){figure(id,()=>{const ser=[];runs.forEach((r,i)=>{if(!r.stats)return;
    ser.push({pts:r.layers0.map((l,k)=>[k+1,l[key]]),color:color(i),dash:true});ser.push({pts:r.layersEnd.map((l,k)=>[k+1,l[key]]),color:color(i)});});
  chart(document.querySelector('#fig-'+id+' svg'),ser,{xlabel:'layer',xticks:x=>Number.isInteger(x)?String(x):''});});}
layerFig('std','std');layerFig('sat','sat');
document.getElementById('layer-tables').replaceChildren(...withStats.map(r=>[h('p',null,h('b',null,r.label)),
  h('table',null,h('tr',null,h('th',{class:'l'},'layer'),r.layers0.map(l=>h('th',null,l.name))),
    h('tr',null,h('td',{class:'l'},'std step '+r.firstStep+' \u2192 '+r.lastStep),r.layers0.map((l,k)=>h('td',null,fmt(l.std)+' \u2192 '+fmt((r.layersEnd[k]||{}).std)))),
    h('tr',null,h('td',{class:'l'},'saturated'),r.layers0.map((l,k)=>h('td',null,(100*l.sat).toFixed(1)+'% \u2192 '+(100*((r.layersEnd[k]||{}).sat||0)).toFixed(1)+'%'))))]).flat());
withStats.forEach(r=>{const idx=runs.indexOf(r);const f=h('figure',{id:'fig-ud-'+idx});const svg=el('svg',{width:440,height:240},f);
  const cap=h('figcaption',null,r.label);f.append(cap);document.getElementById('ud').appendChild(f);
  figure('ud-'+idx,()=>{const names=Object.keys(r.ud);chart(svg,names.map((n,k)=>({pts:r.ud[n],color:color(k)})),{xlabel:'step',hlines:[-3]});
    cap.replaceChildren(r.label+': ',...names.map((n,k)=>[key(color(k)),n,' ']).flat());});});
document.getElementById('diag').replaceChildren(...runs.map(r=>{const list=fs=>h('ul',null,(fs||[]).map(f=>h('li',{class:f.warning?'warn':'good'},h('b',null,f.topic),': '+f.text)));
  return h('div',{class:'card'},h('b',null,r.label),r.stats?[h('p',null,'step 0'),list(r.find0),r.findEnd?[h('p',null,'end'),list(r.findEnd)]:null]
    :h('p',null,'no statistics (stats.jsonl'+(r.stats_error?': '+r.stats_error:'')+')'),r.divergence?h('p',{class:'warn'},r.divergence):null);}));
document.body.setAttribute('data-figures-drawn',String(drawn));
if(errors.length)document.body.setAttribute('data-errors',errors.join('; '));
document.body.setAttribute('data-done','1');
</script></body></html>
)PAGE";

}  // namespace

std::vector<std::string> findRunFolders(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const std::string& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) fail(fmt::format("'{}' is not a folder", d));
    if (present(fs::path(d) / "config.json")) {
      out.push_back(d);
      continue;
    }
    std::vector<std::string> inside;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.is_directory(ec) && present(e.path() / "config.json")) inside.push_back(e.path().string());
    if (inside.empty()) fail(fmt::format("'{}' holds no run folders (no config.json in it or in its folders)", d));
    std::sort(inside.begin(), inside.end());
    out.insert(out.end(), inside.begin(), inside.end());
  }
  return out;
}

std::vector<CommandInput> compareInputs(const std::vector<std::string>& runDirs) {
  std::vector<CommandInput> inputs;
  for (const std::string& d : runDirs)
    for (const char* name : kRunFilesRead) inputs.push_back({fmt::format("the run's {}", name), (fs::path(d) / name).string()});
  return inputs;
}

ComparePage writeComparePage(const std::vector<std::string>& runDirs, const std::string& path, OutputPath kind) {
  ComparePage out;
  json runs = json::array();
  std::vector<std::string> dirs;  // the runs on the page
  for (const auto& d : runDirs) {
    try {
      runs.push_back(runJson(d));
      dirs.push_back(d);
    } catch (const Error& e) {
      out.leftOut.push_back(fmt::format("left out run '{}': {}", printable(d), bareMessage(e)));  // both printable
    }
  }
  if (runs.empty())
    fail(fmt::format("no run could be read, so there is nothing to compare: {}", fmt::join(out.leftOut, "; ")));
  std::set<std::string> names;
  for (const auto& d : dirs) names.insert(fs::path(d).filename().string());
  std::vector<std::string> keys;  // the settings any run overrides, in first-seen order
  for (size_t i = 0; i < runs.size(); ++i) {
    json& r = runs[i];
    // Runs from different places may share a folder name: label them by their parent too.
    const fs::path d(dirs[i]);
    r["label"] = names.size() == dirs.size() ? r["name"].get<std::string>() : (d.parent_path().filename() / d.filename()).string();
    for (auto& [k, v] : r["set"].items())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
  using page::htmlText;
  std::string table = "<table><tr><th class=\"l\">run</th><th class=\"l\">model</th>";
  for (const auto& k : keys) table += "<th>" + htmlText(k) + "</th>";
  table += "<th>status</th><th>steps</th><th>initial loss</th><th>train</th><th>dev</th><th>train s</th></tr>\n";
  auto cell = [](const json& v) {
    return v.is_number() ? fmt::format("{:.4f}", v.get<double>()) : std::string("-");
  };
  int stats = 0;
  for (const json& r : runs) {
    const std::string status = r["status"];
    table += fmt::format("<tr class=\"{}\"><td class=\"l\">{}</td><td class=\"l\">{}</td>", htmlText(status),
                         htmlText(r["label"].get<std::string>()), htmlText(r["model"].get<std::string>()));
    for (const auto& k : keys) table += "<td>" + htmlText(r["set"].value(k, std::string("(file)"))) + "</td>";
    const json fin = r.value("final", json::object());
    table += fmt::format("<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", htmlText(status),
                         r.value("done", json(nullptr)).is_number() ? std::to_string(r["done"].get<int64_t>()) : "-",
                         cell(r.value("initial", json(nullptr))), cell(fin.value("train", json(nullptr))),
                         cell(fin.value("dev", json(nullptr))),
                         r.value("seconds", json(nullptr)).is_number() ? fmt::format("{:.1f}", r["seconds"].get<double>()) : "-");
    if (r["stats"].get<bool>()) ++stats;
  }
  table += "</table>";
  out.figures = 3 + stats;
  out.runs = runs.size();
  writeFileAtomically(path, page::fillTemplate(kPage, {
                                                          {"TITLE", htmlText(runs[0]["model"].get<std::string>())},
                                                          {"EXPECTED", std::to_string(out.figures)},
                                                          {"COUNT", std::to_string(runs.size())},
                                                          {"TABLE", table},
                                                          {"DATA", page::scriptJson(json{{"runs", runs}})},
                                                      }),
                      kind);
  return out;
}

}  // namespace netc
