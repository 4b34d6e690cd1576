# ctest layers.sans_io: no file of a sans-I/O layer (messages/, and
# transports/, discovery/, nat/, node/ outside their io/ folders) nor of
# the actors includes a header whose business is sockets, files or
# waiting: those calls live in the io/ folders; actors reach the network
# through CAF or an io/ function. (What CMake's header views cannot catch:
# system headers are visible to every layer.) config/ reads the INI file
# CAF parses, and the apps are programs: neither is checked. Run as
# cmake -DROOT=<source dir> -P <this>.
set(forbidden "<sys/socket.h>" "<fcntl.h>" "<unistd.h>" "<fstream>"
              "<poll.h>" "<sys/epoll.h>" "<ifaddrs.h>" "<sys/stat.h>"
              "<sys/file.h>" "<netdb.h>" "<thread>" "<filesystem>")
set(found "")
foreach(dir messages transports discovery nat node actors)
  file(GLOB_RECURSE files ${ROOT}/${dir}/*.hpp ${ROOT}/${dir}/*.cpp)
  foreach(f ${files})
    if(f MATCHES "/io/")
      continue()
    endif()
    file(STRINGS ${f} lines REGEX "^#include <")
    foreach(line ${lines})
      foreach(h ${forbidden})
        string(FIND "${line}" "${h}" at)
        if(NOT at EQUAL -1)
          file(RELATIVE_PATH rel ${ROOT} ${f})
          list(APPEND found "${rel}: ${line}")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(found)
  string(REPLACE ";" "\n  " text "${found}")
  message(FATAL_ERROR "system calls outside an io/ folder:\n  ${text}")
endif()
message(STATUS "outside io/ folders, no socket, file or thread header")
