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

// Spins of the pause loop before a waiting thread sleeps (a futex, through std::atomic::wait): a pause is
// 25-26 ns on the Sapphire Rapids and Zen 4 guests measured here (40-140 ns on other x86 cores), so this is
// about 0.85 ms (up to 4.6 ms). Sleeping is dear on a virtual machine: an idle vCPU is descheduled by the host
// and takes hundreds of microseconds to wake, so a team whose threads slept at every long gap ran slower
// than one thread (with 2^11 spins, ~54 us, the Zen 4 guest's batch-1024 steps took 940-2520 us at the median
// on two threads, p90 2300-3050, against 600-780 with 2^15). Still short enough that a thread whose partner
// was descheduled (the machine is shared) gives its core back within a millisecond; the adaptive team
// (team.h) then falls back on one thread if that keeps happening.
constexpr int kSpins = 1 << 15;

// Waits until `word` differs from `old`: spinning first, then asleep (counted in `sleepers`, so that the
// thread changing the word makes the wake-up call only when someone sleeps). Sequentially consistent
// operations on both sides: either the waker sees the sleeper's count, or the sleeper sees the new value.
void await(std::atomic<uint32_t>& word, uint32_t old, std::atomic<int>& sleepers) {
  for (int spins = 0; spins < kSpins; ++spins) {
    if (word.load(std::memory_order_acquire) != old) return;
    pause();
  }
  sleepers.fetch_add(1);
  while (word.load() == old) word.wait(old);
  sleepers.fetch_sub(1);
}

void wake(std::atomic<uint32_t>& word, std::atomic<int>& sleepers) {
  if (sleepers.load() > 0) word.notify_all();
}

}  // namespace

ThreadTeam::ThreadTeam(int threads, StepFn solo, bool adaptive)
    : threads_(std::max(1, threads)), solo_(solo), adaptive_(adaptive && solo) {
  for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { work(t); });
}

ThreadTeam::~ThreadTeam() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1);
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
  // A trial step: kTrial team steps in a row, then kTrial solo ones. Not alternating: a solo step longer
  // than a waiting worker's spin (~1 ms: a GRU step) lets it fall asleep, and every team step after one would
  // then pay its wake-up, hundreds of microseconds on a virtual machine. In a row only the first does, which
  // the median leaves out.
  using Clock = std::chrono::steady_clock;
  const bool team = phase < kTrial;
  auto t0 = Clock::now();
  if (team) ++teamSteps_, runTeam(step, arena);
  else ++soloSteps_, solo_(arena, 0, nullptr, nullptr);
  (team ? teamTrial_ : soloTrial_).push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  if (phase == 2 * kTrial - 1) {
    std::sort(teamTrial_.begin(), teamTrial_.end());
    std::sort(soloTrial_.begin(), soloTrial_.end());
    // The team must win clearly: a core taken for a gain within the trials' noise is a core lost to the rest
    // of the machine (deep_batchnorm at batch 32 won its trials about as often as it lost them).
    useTeam_ = teamTrial_[teamTrial_.size() / 2] < kTeamMargin * soloTrial_[soloTrial_.size() / 2];
    teamTrial_.clear();
    soloTrial_.clear();
  }
}

void ThreadTeam::runTeam(StepFn step, void* arena) {
  step_ = step;
  arena_ = arena;
  done_.store(0, std::memory_order_relaxed);
  generation_.fetch_add(1);  // publishes step_, arena_ and the caller's writes
  wake(generation_, sleepers_);
  step(arena, 0, &ThreadTeam::barrier, this);
  for (uint32_t d; (d = done_.load(std::memory_order_acquire)) != static_cast<uint32_t>(threads_ - 1);)
    await(done_, d, sleepers_);
}

void ThreadTeam::barrier(void* p) {
  auto* team = static_cast<ThreadTeam*>(p);
  const uint32_t phase = team->phase_.load(std::memory_order_acquire);
  if (team->arrived_.fetch_add(1, std::memory_order_acq_rel) == team->threads_ - 1) {
    team->arrived_.store(0, std::memory_order_relaxed);
    team->phase_.store(phase + 1);  // releases everyone (and their writes)
    wake(team->phase_, team->sleepers_);
    return;
  }
  await(team->phase_, phase, team->sleepers_);
}

void ThreadTeam::work(int thread) {
  uint32_t seen = 0;
  for (;;) {
    await(generation_, seen, sleepers_);
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    step_(arena_, thread, &ThreadTeam::barrier, this);
    done_.fetch_add(1);
    wake(done_, sleepers_);
  }
}

}  // namespace netc::codegen
