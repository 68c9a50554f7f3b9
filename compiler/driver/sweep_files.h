// The files a sweep creates for itself in its folder (logs/, logs/NAME.log and NAME.progress, .sweep.lock,
// sweep.sbatch's mode). A sweep folder may be shared, so a name in it may already be a link planted by someone
// else: these never follow a symbolic link and never write into anything but a regular file. sweep.json,
// commands.txt and sweep.sbatch themselves are written to a temporary and renamed over the name
// (writeFileAtomically), which replaces a link rather than writing through it.
#pragma once
#include <string>

namespace netc::driver {

// Creates the folder `path` (one level), or accepts it when it is already a real folder; a symbolic link or
// anything else there is refused, naming it.
void makeOwnFolder(const std::string& path);

// Refuses `path` when something other than a regular file is there (a link, folder, FIFO, device), naming it;
// an absent name or a regular file passes. For checking every name before a sweep starts anything.
void checkOwnFileName(const std::string& path);

// A new, empty regular file at `path` opened for writing (O_CLOEXEC), replacing an earlier regular file of
// that name. A link, folder, FIFO or device there is refused and left as it is. Returns the descriptor.
int createOwnFile(const std::string& path);

// Opens (creating it) the sweep's lock file and takes its lock, or fails saying the folder is in use. The
// descriptor stays open for the life of the process.
void lockSweepFolder(const std::string& folder);

// Adds the execute bits to the regular file `path` (not through a link).
void markExecutable(const std::string& path);

}  // namespace netc::driver
