// Modes: every model has a train form and an eval form. The graph a .net file lowers to holds both, joined by
// `mode` nodes (mode(train = a, eval = b)), and its state updates. Specialising picks one form: each mode node
// becomes the input of its mode; the eval form drops the state updates (evaluation and sampling change no
// state); then every node nothing needs is removed, so the eval form of BatchNorm keeps no batch reduction.
// Differentiation, planning and every engine see only specialised graphs.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "graph/graph.h"
#include "lower/model.h"

namespace netc {

enum class Mode { Train, Eval };
const char* modeName(Mode m);

struct Specialized {
  Graph graph;
  std::vector<int> remap;  // old node id -> new id, -1 when removed
};

// The graph of one mode. Kept: the loss, the nodes in `keep`, every param, state and input, the state updates
// (train only), and whatever they read. A mode node's name and probe pass to the node it chose (through a
// copy when that node has a name of its own).
Specialized specializeMode(const Graph& g, Mode mode, std::span<const int> keep = {});

// Whether g still has mode nodes (a specialised graph has none; engines refuse one that does).
bool hasModes(const Graph& g);

// The model in one mode: its graph specialised, with the input, logits and loss ids renumbered to match.
Model specializeModel(const Model& m, Mode mode);

// What `netc run` trains: the model's train form, and its training graph with the train section's optimizer.
struct TrainForm {
  Model model;
  TrainingGraph step;
};
TrainForm trainForm(const Model& m);

}  // namespace netc
