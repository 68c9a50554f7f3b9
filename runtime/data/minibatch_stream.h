// Which training example each minibatch row takes: the train section's generator, continuing where the
// initialisation left it (torch: one stream for both, as the lecture's `g`), or netc's own stream seeded
// with seed + 1 (the seed itself draws the weights).
#pragma once
#include <cstdint>
#include <optional>

#include "runtime/random/rng.h"
#include "runtime/random/torch_generator.h"

namespace netc {

class MinibatchStream {
 public:
  // `torchAfterInit`: the torch generator after the initial weights were drawn, or none for netc's stream.
  MinibatchStream(uint64_t seed, const std::optional<TorchGenerator>& torchAfterInit, int64_t examples)
      : rng_(seed + 1), torch_(torchAfterInit), n_(static_cast<uint64_t>(examples)) {}
  // The next row's example. With torch, the rows of one step are one torch.randint(0, n, (B,)): B draws of
  // random() % n, the same as B draws of one element each.
  int64_t next() { return torch_ ? torch_->randint(n_) : static_cast<int64_t>(rng_.below(n_)); }
  // Replays `draws` rows (resuming a run after the steps already made).
  void skip(int64_t draws) {
    for (int64_t i = 0; i < draws; ++i) next();
  }

 private:
  Rng rng_;
  std::optional<TorchGenerator> torch_;
  uint64_t n_;
};

}  // namespace netc
