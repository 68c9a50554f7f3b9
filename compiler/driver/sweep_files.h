// The files a sweep creates for itself in its folder (logs/, logs/NAME.log and NAME.progress, .sweep.lock,
// sweep.sbatch's mode). A sweep folder may be shared, so a name in it may already be a link planted by someone
// else: these never follow a symbolic link and never write into anything but a regular file. sweep.json,
// commands.txt and sweep.sbatch themselves are written to a temporary and renamed over the name
// (writeFileAtomically), which replaces a link rather than writing through it.
#pragma once
#include <string>

namespace netc::driver {

// A folder of the sweep's own (logs/), created if absent and opened once without following a link; its files
// are then made relative to that descriptor, so swapping the folder for a link later changes nothing.
class OwnFolder {
 public:
  explicit OwnFolder(std::string path);  // a link or anything but a folder at `path` is refused, naming it
  ~OwnFolder();
  OwnFolder(const OwnFolder&) = delete;
  OwnFolder& operator=(const OwnFolder&) = delete;

  // Refuses `name` when something other than a regular file is there (a link, folder, FIFO, device); an
  // absent name or a regular file passes. For checking every name before a sweep starts anything.
  void checkName(const std::string& name) const;
  // A new, empty regular file `name` opened for writing (O_CLOEXEC), replacing an earlier regular file of that
  // name. A link, folder, FIFO or device there is refused and left as it is. Returns the descriptor.
  int createFile(const std::string& name) const;
  std::string pathOf(const std::string& name) const;

 private:
  std::string path_;
  int fd_ = -1;
};

// Opens (creating it) the sweep's lock file and takes its lock, or fails saying the folder is in use. The
// descriptor stays open for the life of the process.
void lockSweepFolder(const std::string& folder);

// Adds the execute bits to the regular file `path` (not through a link).
void markExecutable(const std::string& path);

}  // namespace netc::driver
