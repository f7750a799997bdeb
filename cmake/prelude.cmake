# In-source builds litter the tree and cannot be cleaned; refuse them early.
if(CMAKE_SOURCE_DIR STREQUAL CMAKE_BINARY_DIR)
  message(FATAL_ERROR "In-source builds are not supported: use a preset, e.g. 'cmake --preset dev'.")
endif()
