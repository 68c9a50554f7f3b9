// The instrumentation pass: appends statistics nodes (ops/probe_stats.cpp) for every probed node and every
// trainable parameter to a COPY of a graph. The input graph is never touched, and every node of it keeps its
// id in the copy, so an engine for the instrumented graph takes the same writes and reads as one for the
// plain graph; the statistics are just extra nodes at the end, in Phase::Probe.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "graph/graph.h"

namespace netc {

// One probed node and the nodes holding its statistics.
struct ProbeEntry {
  enum Kind { Tanh, Value } kind = Value;
  std::string name;  // the probed node's .net name, or "%12"
  int node = -1;     // the probed node
  int pre = -1;      // Tanh: the pre-activation (the tanh's input)
  int stats = -1;    // tanh_stats or value_stats: layout in ops/probe_layout.h
  int mask = -1;     // Tanh with `dead` or `saturation`: abs_gt(t, 0.99), [rows, units]; else -1
  ProbeSpec spec;
  bool logits = false;    // the model's logits (always measured: the step-0 diagnosis needs their spread)
  bool implicit = false;  // added by the pass, not marked with @probe
  // Tanh: trainable parameters feeding the pre-activation linearly (W1 and b1 of the lecture's MLP), named
  // by the diagnoses of a saturated layer.
  std::vector<std::string> layerParams;
};

// One trainable parameter and its param_stats node.
struct ParamProbe {
  std::string name;
  int param = -1;
  int stats = -1;
};

struct ProbePlan {
  std::vector<ProbeEntry> probes;   // in graph order
  std::vector<ParamProbe> params;   // in declaration order
  double saturation = 0.97;         // the share threshold written into every tanh_stats
  int loss = -1;
  int logits = -1;
  // Trainable parameters that reach the logits through linear ops only (the output layer: W2 and b2 of the
  // lecture's MLP), named by the "confidently wrong at initialisation" diagnosis.
  std::vector<std::string> outputParams;
  int firstStatsNode = -1;  // nodes from here on are the pass's
};

struct Instrumented {
  Graph graph;
  ProbePlan plan;
};

struct InstrumentOptions {
  double saturation = 0.97;  // train.saturation
  int logits = -1;           // Model::logits, or -1
  double lr = 0.1;           // the learning rate of the update ratio when the graph has no `lr` input
};

// Instruments a forward graph (with `grads`/`updates` empty) or a training graph. `updates` maps a parameter to
// its sgd node: the ratios then use the parameter after the update, as the lecture computes them. `lrNode` is
// the scalar learning-rate input, or -1 to use options.lr as a constant.
Instrumented instrument(const Graph& g, const std::map<int, int>& grads, const std::map<int, int>& updates,
                        int lrNode, const InstrumentOptions& options);
Instrumented instrument(const TrainingGraph& t, const InstrumentOptions& options);

// Trainable parameters on a linear path (add, sub, mul, div, neg, matmul, reshape) into `node`.
std::vector<int> linearParamsOf(const Graph& g, int node);

}  // namespace netc
