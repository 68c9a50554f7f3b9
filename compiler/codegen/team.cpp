#include "codegen/team.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace netc::codegen {

namespace {

void pause() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins of the pause loop before a waiting thread gives up its core (yield at a barrier, sleep between
// steps): a pause is about 40 ns on recent x86 cores (up to 140 on some), so this is some tens of
// microseconds: longer than a step's own gaps, short enough that a thread whose partner was descheduled (the
// machine is shared) does not burn its core for long.
constexpr int kSpins = 1 << 12;

}  // namespace

ThreadTeam::ThreadTeam(int threads, StepFn solo, bool adaptive)
    : threads_(std::max(1, threads)), solo_(solo), adaptive_(adaptive && solo) {
  for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { work(t); });
}

ThreadTeam::~ThreadTeam() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& w : workers_) w.join();
}

void ThreadTeam::run(StepFn step, void* arena) {
  if (threads_ == 1) return step(arena, 0, nullptr, nullptr);
  const int64_t phase = steps_++ % kEpoch;
  if (!adaptive_ || phase >= 2 * kTrial) {
    if (useTeam_ || !adaptive_) ++teamSteps_, runTeam(step, arena);
    else ++soloSteps_, solo_(arena, 0, nullptr, nullptr);
    return;
  }
  // A trial step: team on even phases, solo on odd ones.
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  if (phase % 2 == 0) ++teamSteps_, runTeam(step, arena);
  else ++soloSteps_, solo_(arena, 0, nullptr, nullptr);
  (phase % 2 == 0 ? teamTrial_ : soloTrial_).push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  if (phase == 2 * kTrial - 1) {
    std::sort(teamTrial_.begin(), teamTrial_.end());
    std::sort(soloTrial_.begin(), soloTrial_.end());
    useTeam_ = teamTrial_[teamTrial_.size() / 2] < soloTrial_[soloTrial_.size() / 2];
    teamTrial_.clear();
    soloTrial_.clear();
  }
}

void ThreadTeam::runTeam(StepFn step, void* arena) {
  step_ = step;
  arena_ = arena;
  done_.store(0, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);  // publishes step_, arena_ and the caller's writes
  generation_.notify_all();
  step(arena, 0, &ThreadTeam::barrier, this);
  for (int spins = 0; done_.load(std::memory_order_acquire) != threads_ - 1; ++spins)
    if (spins < kSpins) pause();
    else std::this_thread::yield();
}

void ThreadTeam::barrier(void* p) {
  auto* team = static_cast<ThreadTeam*>(p);
  const uint32_t phase = team->phase_.load(std::memory_order_acquire);
  if (team->arrived_.fetch_add(1, std::memory_order_acq_rel) == team->threads_ - 1) {
    team->arrived_.store(0, std::memory_order_relaxed);
    team->phase_.store(phase + 1, std::memory_order_release);  // releases everyone (and their writes)
    return;
  }
  for (int spins = 0; team->phase_.load(std::memory_order_acquire) == phase; ++spins)
    if (spins < kSpins) pause();
    else std::this_thread::yield();
}

void ThreadTeam::work(int thread) {
  uint32_t seen = 0;
  for (;;) {
    uint32_t g;
    for (int spins = 0; (g = generation_.load(std::memory_order_acquire)) == seen; ++spins)
      if (spins < kSpins) pause();
      else generation_.wait(seen, std::memory_order_acquire);
    seen = g;
    if (stop_.load(std::memory_order_relaxed)) return;
    step_(arena_, thread, &ThreadTeam::barrier, this);
    done_.fetch_add(1, std::memory_order_acq_rel);
  }
}

}  // namespace netc::codegen
