# it_optional_program(OPTION PROGRAM DEBIAN_PACKAGE WHAT OUT): the cache option OPTION takes
# AUTO (use PROGRAM when it is found), ON (required: configuring fails without it) or OFF;
# OUT is PROGRAM's path when it is to be used, else empty.
function(it_optional_program option program package what out)
  set(${option} AUTO CACHE STRING "${what} (AUTO, ON, OFF)")
  set(path "")
  if(NOT ${option} STREQUAL "OFF")
    find_program(IT_${program}_PATH ${program})
    if(IT_${program}_PATH)
      set(path ${IT_${program}_PATH})
    elseif(${option} STREQUAL "ON")
      message(FATAL_ERROR "${option}=ON but ${program} was not found (Debian: ${package})")
    endif()
  endif()
  set(${out} "${path}" PARENT_SCOPE)
endfunction()
