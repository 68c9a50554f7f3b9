// Source ops: values that come from outside the computation (inputs, parameters, constants).
// They share a file because none of them computes anything.
#include <fmt/format.h>

#include "ops/op.h"

namespace netc::ops {

// input: a batch tensor fed by the driver (contexts, targets, the learning rate). Shape set by lowering.
extern const OpDef kInput{.name = "input", .summary = "a tensor fed by the driver", .minInputs = 0, .maxInputs = 0,
                   .cls = OpDef::Source, .internal = true, .source = SourceKind::Input,
                   .infer = [](const Graph&, Node&) {}};

// param: a parameter tensor; its initialiser and trainable flag live on the node.
extern const OpDef kParam{.name = "param", .summary = "a parameter tensor", .minInputs = 0, .maxInputs = 0,
                   .cls = OpDef::Source, .internal = true,
                   .attrs = {{.name = "init", .kind = AttrSpec::Init, .slot = AttrSpec::InitSpec},
                             {.name = "frozen", .kind = AttrSpec::Bool, .slot = AttrSpec::Frozen}},
                   .source = SourceKind::Param,
                   .infer = [](const Graph&, Node&) {}};

// state: a tensor the training step carries over without a gradient (running statistics, optimizer moments,
// step counts). Initialised like a parameter, saved with the weights, changed only by `assign` nodes.
extern const OpDef kState{.name = "state", .summary = "a non-trainable tensor carried from step to step", .minInputs = 0,
                   .maxInputs = 0, .cls = OpDef::Source, .internal = true,
                   .attrs = {{.name = "init", .kind = AttrSpec::Init, .slot = AttrSpec::InitSpec}},
                   .source = SourceKind::State,
                   .infer = [](const Graph&, Node&) {}};

// const: a scalar constant (Attrs::value), broadcast wherever it is used.
extern const OpDef kConst{.name = "const", .summary = "a scalar constant", .minInputs = 0, .maxInputs = 0,
                   .cls = OpDef::Source, .internal = true,
                   .attrs = {{.name = "value", .kind = AttrSpec::Float, .slot = AttrSpec::Value, .bare = true}},
                   .source = SourceKind::Const,
                   .infer = [](const Graph&, Node& n) { n.dtype = DType::F32; n.shape = {}; },
                   .grad = [](GradBuilder&, const Node&, int, std::vector<int>&) {},
                   .eval = [](const Node& n, const std::vector<const Tensor*>&, Tensor& out) { out.data = {n.attrs.value}; }};

}  // namespace netc::ops
