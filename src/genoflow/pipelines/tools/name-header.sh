# Sourced by the tool scripts (CWL $include: escape every dollar-brace as backslash-dollar-brace).
# name_header REFERENCE [PATH NAME]...: copy SAM or VCF text from stdin to stdout. In the header
# (the lines starting with @ or #) each PATH becomes its NAME and a ##reference line names
# REFERENCE; the records after it pass through untouched (cat), so a genome costs one pipe copy.
# Why: the tools record the staged paths and /dev/fd/N they were given, which name nothing
# once the run's work dir is gone; the header should name what genoflow knows the files as.
name_header() {
  local reference=$1 line i
  shift
  local -a map=("$@")
  while IFS= read -r line; do
    case $line in
      '##reference='*) line="##reference=$reference" ;;
      [@#]*)
        for ((i = 0; i < \${#map[@]}; i += 2)); do
          line=\${line//"\${map[i]}"/"\${map[i + 1]}"}
        done
        ;;
      *) printf '%s\n' "$line"; cat; return ;;
    esac
    printf '%s\n' "$line"
  done
}
