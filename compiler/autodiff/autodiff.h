// Reverse-mode differentiation of a graph, from per-op gradient rules, into ordinary graph nodes.
#pragma once
#include <map>

#include "autodiff/optimizer.h"
#include "graph/graph.h"

namespace netc {

// The forward graph (specialised to its train form) extended by the backward graph and the optimizer's update
// of every trainable parameter.
struct TrainingGraph {
  Graph graph;
  int loss = -1;
  int lr = -1;                 // scalar input: the learning rate of this step
  std::map<int, int> grads;    // trainable param node -> its gradient node
  std::map<int, int> updates;  // trainable param node -> the node holding its next value (sgd or assign)
  // Every forward value the loss depends on through a trainable parameter -> d loss / d value (its adjoint,
  // complete: the sum over all of its uses). The probes read the gradients flowing through activations here.
  std::map<int, int> adjoints;
};

// Appends the backward graph for d(g.loss)/d(param) of every trainable parameter on a path to the loss.
// Returns param -> gradient node. Throws, naming the op and line, when a needed op has no gradient rule.
// `adjoints`, when given, receives the gradient node of every forward value that has one.
// `wanted`: forward values whose own gradient is asked for (`netc grad --values`), whether or not a trainable
// parameter feeds them: each on a path to the loss gets an adjoint node, named "grad.NAME" when it has no name
// yet, so that every engine keeps it in memory (a named value is never left in registers or shared).
std::map<int, int> differentiate(Graph& g, std::map<int, int>* adjoints = nullptr, const std::vector<int>& wanted = {});

// differentiate() plus an `lr` input and the optimizer's updates (and state) for every trainable parameter.
// `forward` must have no mode nodes (specializeMode(Train) first). `wanted` as differentiate's.
TrainingGraph buildTrainingGraph(const Graph& forward, const OptimizerSpec& optimizer = {},
                                 const std::vector<int>& wanted = {});

// A copy of g with the batch dimension B replaced by `batch` everywhere (shapes and shape attributes), and every
// batch_size node (B used as a value) made a constant of that value. Verifies the copy, so shape rules that
// need the batch size (var's n - correction > 0) check it here.
Graph bindBatch(const Graph& g, int64_t batch);

}  // namespace netc
