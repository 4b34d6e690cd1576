# crust is built in layers, each an object library that sees only the
# headers of the layers it may use:
#
#   crust_api     messages/          the public types (include/crust)
#   crust_proto   transports/ discovery/ nat/ node/, less their io/ folders:
#                 the sans-I/O cores
#   crust_io      the io/ folders: sockets, files, blocking clients
#   crust_config  config/            the [crust] settings
#   crust_actors  actors/            every actor
#
# A layer's include path is a view of the source tree made of links to
# the headers it may include, so `#include "actors/..."` in a protocol core
# does not resolve and the build fails. The two lowest layers also find a
# stand-in for every CAF I/O header that stops the build with an #error:
# no broker, scribe or multiplexer below the actors.

# Links every header under the `dirs` (relative to the source tree), less
# any path matching `exclude`, into `view`.
function(crust_header_view view exclude)
  file(REMOVE_RECURSE ${view})
  foreach(dir ${ARGN})
    file(GLOB_RECURSE headers RELATIVE ${PROJECT_SOURCE_DIR}
         CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${dir}/*.hpp)
    foreach(h ${headers})
      if(exclude AND h MATCHES "${exclude}")
        continue()
      endif()
      get_filename_component(parent ${view}/${h} DIRECTORY)
      file(MAKE_DIRECTORY ${parent})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${h} ${view}/${h} SYMBOLIC)
    endforeach()
  endforeach()
endfunction()

# Stand-ins for CAF's I/O headers: including one is an error.
function(crust_no_caf_io dir)
  file(GLOB io_headers RELATIVE ${CAF_INCLUDE_DIR}
       ${CAF_INCLUDE_DIR}/caf/io/*.hpp ${CAF_INCLUDE_DIR}/caf/io/*/*.hpp)
  foreach(h ${io_headers})
    file(WRITE ${dir}/${h}
         "#error \"a sans-I/O layer of crust includes CAF I/O (${h})\"\n")
  endforeach()
endfunction()

set(CRUST_VIEWS ${CMAKE_BINARY_DIR}/layers)
crust_header_view(${CRUST_VIEWS}/api "" messages)
crust_header_view(${CRUST_VIEWS}/proto "/io/" messages transports discovery nat node)
crust_header_view(${CRUST_VIEWS}/io "" messages transports discovery nat node)
crust_header_view(${CRUST_VIEWS}/config "" messages transports discovery nat node config)
crust_no_caf_io(${CRUST_VIEWS}/no-caf-io)

# A layer: its sources, the view it sees, and whether CAF I/O is barred.
function(crust_layer name view no_caf_io)
  add_library(${name} OBJECT ${ARGN})
  set(dirs ${CRUST_VIEWS}/${view} ${PROJECT_SOURCE_DIR}/include)
  if(no_caf_io)
    list(PREPEND dirs ${CRUST_VIEWS}/no-caf-io)
  endif()
  target_include_directories(${name} PRIVATE ${dirs} ${NATPMP_INCLUDE_DIR})
  target_link_libraries(${name} PRIVATE CAF::io PkgConfig::SODIUM
                        nlohmann_json::nlohmann_json PkgConfig::MINIUPNPC
                        PkgConfig::USRSCTP)
  target_compile_options(${name} PRIVATE -Wall -Wextra)
endfunction()
