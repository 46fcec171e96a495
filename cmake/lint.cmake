# Lint checks shared by the `lint` target and the ctest tests `format` and
# `cppcheck`. Files are found when the check runs, so new files are covered
# without re-running cmake.
#   cmake -DMODE=format|cppcheck -DTOOL=/path/to/tool -DROOT=<source dir>
#         -P lint.cmake
cmake_policy(SET CMP0007 NEW)
if(NOT MODE OR NOT ROOT OR (NOT TOOL AND NOT MODE MATCHES "^(banned|names)$"))
	message(FATAL_ERROR "usage: cmake -DMODE=format|cppcheck|banned|names "
		"[-DTOOL=...] -DROOT=... -P lint.cmake")
endif()

# Lines of the C files under dirs that match regex, as "file:line: text".
function(rk_grep out regex)
	set(hits "")
	foreach(dir IN LISTS ARGN)
		file(GLOB found RELATIVE ${ROOT} ${ROOT}/${dir}/*.c
			${ROOT}/${dir}/*.h)
		foreach(f IN LISTS found)
			# Semicolons would split lines as CMake lists.
			file(READ ${ROOT}/${f} text)
			string(REPLACE ";" "," text "${text}")
			string(REPLACE "\n" ";" lines "${text}")
			set(n 0)
			foreach(line IN LISTS lines)
				math(EXPR n "${n} + 1")
				if(line MATCHES "${regex}" AND
				   NOT line MATCHES "^[ \t]*(/?\\*|//)")
					list(APPEND hits "${f}:${n}: ${line}")
				endif()
			endforeach()
		endforeach()
	endforeach()
	set(${out} "${hits}" PARENT_SCOPE)
endfunction()

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
elseif(MODE STREQUAL "banned")
	# Functions with no bound on what they write or no error report; use
	# snprintf, bounded copies and strtol with checks.
	rk_grep(hits "(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atoll|sscanf|strtok)[ \t]*\\("
		src cli fuzz bench tests)
	if(hits)
		list(JOIN hits "\n" shown)
		message(FATAL_ERROR "banned functions:\n${shown}")
	endif()
	message(STATUS "banned: none used")
elseif(MODE STREQUAL "names")
	# The policy is data: the library asks it for the role, scope or
	# objection a rule acts on and never spells a name of the example.
	# (policy.c reads the policy format, whose own keywords, such as the
	# "marketing" section, are not names of the example.)
	rk_grep(hits "\"(direct_marketing|personalisation|email_marketing|sms_marketing|third_party_marketing|marketing_communications|customer_service|admin|marketing|billing|dpo|purchase|location)\""
		src)
	list(FILTER hits EXCLUDE REGEX "^src/policy\\.c:")
	if(hits)
		list(JOIN hits "\n" shown)
		message(FATAL_ERROR "names of the example policy in the "
			"library:\n${shown}")
	endif()
	message(STATUS "names: none in the library")
else()
	message(FATAL_ERROR "unknown MODE ${MODE}")
endif()
