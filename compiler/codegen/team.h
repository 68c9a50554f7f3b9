// The persistent thread team that runs a step split across several threads (PlanOptions::threads).
//
// The workers are started once and live as long as the engine. A step is one generation: the caller bumps
// the generation, runs thread 0's part itself and waits until every worker has finished its part. Inside a
// step the threads meet at spinning barriers (a few per step, placed by planTeam), which cost well under a
// microsecond on an idle core where a futex wake-up would cost several. Every wait (at a barrier, for the
// next step, for the workers to finish) spins a while, then sleeps on its word, so a thread whose partner
// was descheduled gives its core back and an idle engine leaves its cores alone.
//
// A team only pays when its threads get cores: on a machine whose other cores are busy (other processes,
// other builds) a barrier waits for a descheduled partner, and a step can take ten times as long. So the
// team, when adaptive, times itself now and then against the solo step (the same kernels on the caller's
// thread alone, with the same results) and runs whichever was faster until the next trial.
#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "codegen/step_fn.h"

namespace netc::codegen {

class ThreadTeam {
 public:
  // threads - 1 workers; the caller is thread 0. `solo` (netc_step_solo, needed when adaptive) is the whole
  // step on one thread.
  ThreadTeam(int threads, StepFn solo, bool adaptive);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int threads() const { return threads_; }
  // One step on every thread (or solo, see above); returns when it is done. Not reentrant.
  void run(StepFn step, void* arena);
  // Steps run by the team and solo so far.
  int64_t teamSteps() const { return teamSteps_; }
  int64_t soloSteps() const { return soloSteps_; }
  // Every kEpoch steps, kTrial steps as a team, then kTrial solo; the faster median decides the rest.
  static constexpr int64_t kEpoch = 512, kTrial = 5;
  static constexpr double kTeamMargin = 0.95;  // the team's median must be at least 5% below solo's

 private:
  static void barrier(void* team);  // the BarrierFn the generated code calls
  void work(int thread);
  void runTeam(StepFn step, void* arena);

  int threads_;
  StepFn solo_;
  bool adaptive_;
  bool useTeam_ = true;
  int64_t steps_ = 0, teamSteps_ = 0, soloSteps_ = 0;
  std::vector<double> teamTrial_, soloTrial_;  // this epoch's trial times, seconds
  StepFn step_ = nullptr;
  void* arena_ = nullptr;
  alignas(64) std::atomic<uint32_t> generation_{0};  // bumped to start a step (and, with stop_, to quit)
  alignas(64) std::atomic<uint32_t> done_{0};        // workers finished with the current step
  alignas(64) std::atomic<int> arrived_{0};          // barrier: threads at the current barrier
  alignas(64) std::atomic<uint32_t> phase_{0};       // barrier: bumped by the last to arrive
  alignas(64) std::atomic<int> sleepers_{0};         // threads asleep in a wait (any of the words above)
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

}  // namespace netc::codegen
