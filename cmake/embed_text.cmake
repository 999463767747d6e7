# Writes OUTPUT, a C++ file defining `const char* const SYMBOL` holding INPUT's text, so the binary
# carries a vendored asset (the study report's chart library) without reading files at run time.
# Usage: cmake -DINPUT=... -DOUTPUT=... -DSYMBOL=... -P embed_text.cmake
file(READ "${INPUT}" text)
string(FIND "${text}" ")mnembed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} holds the raw-string delimiter )mnembed\"")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/embed_text.cmake; do not edit.\nextern const char* const ${SYMBOL};\nconst char* const ${SYMBOL} = R\"mnembed(${text})mnembed\";\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
