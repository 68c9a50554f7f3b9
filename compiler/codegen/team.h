// The persistent thread team that runs a step split across several threads (PlanOptions::threads).
//
// The workers are started once and live as long as the engine. A step is one generation: the caller bumps
// the generation, runs thread 0's part itself and waits until every worker has finished its part. Inside a
// step the threads meet at spinning barriers (a few per step, placed by planTeam), which cost well under a
// microsecond on an idle core where a futex wake-up would cost several. Waiting between steps spins a
// while too (the next step usually follows within microseconds), then sleeps on the generation word, so an
// idle engine leaves its cores alone.
#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "codegen/step_fn.h"

namespace netc::codegen {

class ThreadTeam {
 public:
  explicit ThreadTeam(int threads);  // threads - 1 workers; the caller is thread 0
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int threads() const { return threads_; }
  // One step on every thread; returns when all are done. Not reentrant: one caller at a time.
  void run(StepFn step, void* arena);

 private:
  static void barrier(void* team);  // the BarrierFn the generated code calls
  void work(int thread);

  int threads_;
  StepFn step_ = nullptr;
  void* arena_ = nullptr;
  alignas(64) std::atomic<uint32_t> generation_{0};  // bumped to start a step (and, with stop_, to quit)
  alignas(64) std::atomic<int> done_{0};             // workers finished with the current step
  alignas(64) std::atomic<int> arrived_{0};          // barrier: threads at the current barrier
  alignas(64) std::atomic<uint32_t> phase_{0};       // barrier: bumped by the last to arrive
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

}  // namespace netc::codegen
