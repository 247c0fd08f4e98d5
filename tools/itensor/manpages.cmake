# Writes OUTDIR/itensor.1 and OUTDIR/itensor-<command>.1 for each of COMMANDS with help2man,
# from the tool's own --help and --version texts (the one source of the README's command list,
# the reference and these pages). Run by the build: cmake -DITENSOR=... -DHELP2MAN=...
# -DOUTDIR=... -DCOMMANDS="ls;info;..." -P manpages.cmake
set(describe_ls "list the tensors of an infinite-tensor store")
set(describe_info "show everything about one tensor of a store")
set(describe_export "write a region of a tensor to a standard HDF5 file")
set(describe_preview "render a region of a tensor as a PNG image")
set(describe_verify "read and check every stored chunk of a store")
set(describe_rm "delete a tensor from a store")
set(describe_compact "reclaim the space deleted data left in a store")
set(describe_upgrade "convert a store of an older infinite-tensor to the current format")
set(describe_demo "build a procedural terrain with infinite-tensor")
file(MAKE_DIRECTORY ${OUTDIR})
set(see_also "[SEE ALSO]\n.BR itensor (1)")
foreach(cmd ${COMMANDS})
  string(APPEND see_also ",\n.BR itensor-${cmd} (1)")
endforeach()
string(APPEND see_also "\n.PP\nThe library's manual is its README and public headers, installed with the\ndocumentation.\n")
file(WRITE ${OUTDIR}/see-also.h2m "${see_also}")
function(page name help_option version_option description)
  execute_process(COMMAND ${HELP2MAN} --no-info --section=1 --source=infinite-tensor
                          --name=${description} --help-option=${help_option}
                          --version-option=${version_option} --include=${OUTDIR}/see-also.h2m
                          --output=${OUTDIR}/${name}.1 ${ITENSOR}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "help2man failed for ${name}: ${err}")
  endif()
endfunction()
page(itensor --help --version "inspect, export and maintain infinite-tensor HDF5 stores")
foreach(cmd ${COMMANDS})
  if(NOT DEFINED describe_${cmd})
    message(FATAL_ERROR "manpages.cmake: no description for the command ${cmd}")
  endif()
  page(itensor-${cmd} "${cmd} --help" "${cmd} --version" "${describe_${cmd}}")
endforeach()
file(REMOVE ${OUTDIR}/see-also.h2m)
