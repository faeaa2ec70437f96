"""The embedded benchmark: real voices from Debian packages, synthesisers, scenes, the build."""
