// The instrumentation pass: appends statistics nodes (ops/*_stats.cpp) for every probed node and every
// trainable parameter to a COPY of a graph. The input graph is never touched, and every node of it keeps its
// id in the copy, so an engine for the instrumented graph takes the same writes and reads as one for the
// plain graph; the statistics are just extra nodes at the end, in Phase::Probe.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "graph/graph.h"
#include "ops/probe_layout.h"

namespace netc {

// One probed node and the nodes holding its statistics.
struct ProbeEntry {
  // Layer: a tanh, sigmoid or relu with units on a fixed last axis (saturation, dead units, pre-activations);
  // Value: anything else (the logits, a BatchNorm output, a linear layer's output).
  enum Kind { Layer, Value } kind = Value;
  probe::Activation activation = probe::Activation::Tanh;  // Layer only
  std::string name;  // the probed node's .net name, or "%12"
  int node = -1;     // the probed node
  int pre = -1;      // Layer: the pre-activation (the activation's input)
  int stats = -1;    // layer_stats or value_stats: layout in ops/probe_layout.h
  int grad = -1;     // grad_stats of d loss / d node, or -1 when the loss does not depend on it
  int mask = -1;     // Layer with `dead` or `saturation`: 1 where flat, [rows, units]; else -1
  ProbeSpec spec;
  bool logits = false;  // the model's logits (always measured: the step-0 diagnosis needs their spread)
  bool implicit = false;  // a default probe (or the logits), not marked with @probe
  // Trainable parameters feeding the pre-activation (Layer) or the value linearly (W1 and b1 of the lecture's
  // MLP), named by the diagnoses of a saturated layer and a stack's gain.
  std::vector<std::string> layerParams;
};

// One trainable parameter and its statistics nodes.
struct ParamProbe {
  std::string name;
  int param = -1;
  int stats = -1;      // param_stats
  int gradHist = -1;   // grad_stats of its gradient, for parameters of rank 2 (weights), else -1
  Shape shape;
  // A rank-2 parameter initialised as randn * s: its gain s * sqrt(fan_in) (fan_in: the first axis), the
  // lecture's 5/3 for Kaiming on tanh; NaN otherwise. Within [0.3, 3] the initialisation is fan-in scaled
  // (Kaiming or Xavier style), and the diagnoses never advise one it already has.
  double initGain = 0;
  bool fanInScaled = false;
};

struct ProbePlan {
  std::vector<ProbeEntry> probes;   // in graph order
  std::vector<ParamProbe> params;   // in declaration order
  double saturation = 0.97;         // the share threshold written into every layer_stats
  int loss = -1;
  int logits = -1;
  // Trainable parameters that reach the logits through linear ops only (the output layer: W2 and b2 of the
  // lecture's MLP), named by the "confidently wrong at initialisation" diagnosis.
  std::vector<std::string> outputParams;
  int firstStatsNode = -1;  // nodes from here on are the pass's
  bool stepIsLrTimesGrad = true;  // InstrumentOptions::stepIsLrTimesGrad
};

struct Instrumented {
  Graph graph;
  ProbePlan plan;
};

struct InstrumentOptions {
  double saturation = 0.97;  // train.saturation
  int logits = -1;           // Model::logits, or -1
  double lr = 0.1;           // the learning rate of the update ratio when the graph has no `lr` input
  // The optimizer steps by lr * grad (plain sgd), so the update ratio log10(std(lr * grad) / std(p)) is the
  // step it takes; with momentum or Adam it is not (the diagnoses then leave the ratios unjudged).
  bool stepIsLrTimesGrad = true;
};

// Instruments a forward graph (with `grads`/`updates` empty) or a training graph. `updates` maps a parameter to
// its sgd node: the ratios then use the parameter after the update, as the lecture computes them. `lrNode` is
// the scalar learning-rate input, or -1 to use options.lr as a constant. `adjoints` (TrainingGraph::adjoints)
// gives the gradient statistics of every probed value that has one.
Instrumented instrument(const Graph& g, const std::map<int, int>& grads, const std::map<int, int>& updates,
                        int lrNode, const InstrumentOptions& options, const std::map<int, int>& adjoints = {});
Instrumented instrument(const TrainingGraph& t, const InstrumentOptions& options);

// Trainable parameters on a linear path (add, sub, mul, div, neg, matmul, reshape) into `node`.
std::vector<int> linearParamsOf(const Graph& g, int node);

}  // namespace netc
