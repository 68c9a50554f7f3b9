// What `netc run` refuses before it trains, and what it warns about, in one place: `netc check` calls the same
// function with the model's own settings, so a model that check passes is one that run starts (as long as no
// flag of run changes it: --steps, --batch, --lr, --threads, --data).
#pragma once
#include <cstdint>

#include "lower/model.h"
#include "runtime/data/dataset.h"

namespace netc {

// Refuses (netc::Error, located at the declaration where there is one) a model whose inputs training cannot
// feed: the cross-entropy's target must be an int input itself, int[B] in the context form and int[B, T] in
// the sequence form (the next character of each example, or of each position), the one other int input the
// context int[B, T], and the logits must have one column per vocabulary character. Trainer checks this too.
void checkTrainingInputs(const Model& m);

// Everything run checks before it compiles, with `spec` the train section after run's flags and `threads` its
// --threads (0: chosen by size). Refuses, besides checkTrainingInputs:
//  - a shape rule that fails at a batch size the run binds: the training step at spec.batch, the evaluation
//    at its chunk sizes, sampling at 1 (the unbiased variance over a batch of 1, correction=1, divides by 0);
//  - a dataset that gives a split no words (loadDataset).
// Warns (one `netc: warning:` line each, on stderr) when
//  - one long word makes the sequence form's T many times what nearly every word needs (every example is
//    padded to T, so each step does that much more work);
//  - --threads is more than this machine's cores;
//  - the warmup is longer than the run, or the cosine decay's min_lr is above the learning rate.
// Returns the dataset, which run trains on.
Dataset checkRun(const Model& m, const TrainSpec& spec, int threads);

// The --threads warning alone, for the commands that time steps (netc bench).
void warnIfMoreThreadsThanCores(int threads);

}  // namespace netc
