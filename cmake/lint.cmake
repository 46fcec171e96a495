# Lint checks shared by the `lint` target and the ctest tests `format` and
# `cppcheck`. Files are found when the check runs, so new files are covered
# without re-running cmake.
#   cmake -DMODE=format|cppcheck -DTOOL=/path/to/tool -DROOT=<source dir>
#         -P lint.cmake
if(NOT MODE OR NOT TOOL OR NOT ROOT)
	message(FATAL_ERROR "usage: cmake -DMODE=format|cppcheck -DTOOL=... "
		"-DROOT=... -P lint.cmake")
endif()

if(MODE STREQUAL "format")
	set(files "")
	foreach(dir include src cli tests fuzz bench)
		file(GLOB found RELATIVE ${ROOT}
			${ROOT}/${dir}/*.c ${ROOT}/${dir}/*.h)
		list(APPEND files ${found})
	endforeach()
	list(SORT files)
	list(LENGTH files n)
	if(n EQUAL 0)
		message(STATUS "format: no C files to check")
		return()
	endif()
	execute_process(COMMAND ${TOOL} --dry-run -Werror ${files}
		WORKING_DIRECTORY ${ROOT} RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "format: files differ from .clang-format; "
			"fix with: clang-format -i FILE")
	endif()
	message(STATUS "format: ${n} files clean")
elseif(MODE STREQUAL "cppcheck")
	set(dirs "")
	foreach(dir src cli)
		file(GLOB found ${ROOT}/${dir}/*.c)
		if(found)
			list(APPEND dirs ${dir})
		endif()
	endforeach()
	if(NOT dirs)
		message(STATUS "cppcheck: no C files to check")
		return()
	endif()
	list(JOIN dirs " " shown)
	execute_process(COMMAND ${TOOL} --quiet --std=c11 -D_DEFAULT_SOURCE=1
		--enable=warning,style,performance,portability
		--error-exitcode=1 --inline-suppr
		--suppress=missingIncludeSystem
		# Declarations at the top of a function go with the one
		# `goto out` cleanup per function that the code follows.
		--suppress=variableScope
		-I include -I src ${dirs}
		WORKING_DIRECTORY ${ROOT} RESULT_VARIABLE rc)
	if(NOT rc EQUAL 0)
		message(FATAL_ERROR "cppcheck: problems found in ${shown}")
	endif()
	message(STATUS "cppcheck: ${shown} clean")
else()
	message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
