// Where in the .net file's scopes a node was made: the structured answer to "which step of which loop" (and,
// once blocks exist, "which instance of which block"), carried by every node (Node::scope) so the printer,
// the probes, the statistics, the diagnoses and the report group by it instead of reading names.
//
// A node lowered at the top level of the file has an empty path. Each node of an unrolled `for t in 0..T`
// body has one LoopStep entry {t, its iteration, the loop's line}; nested loops have one each. A block
// instance (`Layer(h, H, H) as layers.2`) adds a Block entry {its whole instance path "layers.2", which use of
// the block, the use's line, the block's name "Layer"}, outermost first.
//
// Names shown to users are built from a value's local name and its path by qualifiedName ("h" at step t = 3 is
// "h@t3", "h" in the instance layers.2 is "layers.2/h"); localName is its exact inverse. Nothing reads a step,
// a loop or an instance out of a name.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

struct ScopeEntry {
  enum class Kind { LoopStep, Block };
  Kind kind = Kind::LoopStep;
  std::string name;    // LoopStep: the loop variable ("t"); Block: the instance's whole path ("blocks.0.attn")
  int64_t index = 0;   // LoopStep: the iteration, 0 for the first; Block: which use of the block, 0 for the first
  int64_t first = 0;   // LoopStep: the loop variable's first value, so its value at this step is first + index
  int line = 0;        // the `for` statement's line, or the line of the block's use
  std::string block;   // Block: the block's name ("Layer"); empty for a loop step
  int64_t value() const { return first + index; }  // LoopStep: the loop variable's value (the t of "h@t3")
  bool operator==(const ScopeEntry&) const = default;
};

struct ScopePath {
  std::vector<ScopeEntry> entries;  // outermost first; empty at the top level of the file
  bool empty() const { return entries.empty(); }
  // The innermost loop step on the path, or nullptr outside every loop.
  const ScopeEntry* loopStep() const;
  bool operator==(const ScopePath&) const = default;
};

// The name users see for a value called `local` in its scope: "h" at step t = 3 is "h@t3" (each loop step on
// the path appends @VAR VALUE, outermost first), "h" in the instance layers.2 is "layers.2/h" (only the loop
// steps inside the innermost instance are appended: its path already says which outer step made it). An empty
// path leaves the name as it is.
std::string qualifiedName(std::string_view local, const ScopePath& path);
// The path of the innermost block instance on `path` ("layers.2"), or "" outside every block.
std::string instanceName(const ScopePath& path);
// The inverse of qualifiedName: the local name of a value named `qualified` at `path` ("h@t3" at t = 3 is "h").
// A name that qualifiedName did not make for that path (a hand-written record) is returned whole.
std::string localName(std::string_view qualified, const ScopePath& path);
// Whether `next` is the step right after `prev` of the same loop: equal paths except the innermost loop step,
// whose index is one more. Two values of one loop body at consecutive steps (h@t3 and h@t4) have such paths.
bool isNextStep(const ScopePath& prev, const ScopePath& next);
// The path as text for keys and messages: "t=3/16 line 27" entries joined by " > "; "" when empty.
std::string scopeText(const ScopePath& path);

}  // namespace netc
