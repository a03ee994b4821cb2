#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: align
label: "bwa mem | samtools fixmate | sort | markdup, then samtools index"
doc: |
  Aligns one sample: FASTQ pairs (several pairs are read as one stream: gzip members
  concatenate) or one BAM (collated and converted back to interleaved FASTQ), then fixes
  mate tags, coordinate-sorts, marks duplicates and indexes, all streaming through pipes.
  The header names the reference and the reads by the names genoflow knows them by, never
  by staged paths (name-header.sh). Every tool's stderr goes to align.log.
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: name-header.sh
        entry: {$include: name-header.sh}
      - entryname: align.sh
        entry: |
          set -euo pipefail
          source ./name-header.sh
          threads=1 rg="" ref="" ref_name="" base="" bam="" bam_name=""
          r1=() r2=() r1_names=() r2_names=()
          while getopts "t:R:f:N:o:1:2:x:y:b:B:" opt; do
            case "$opt" in
              t) threads="$OPTARG" ;;
              R) rg="$OPTARG" ;;
              f) ref="$OPTARG" ;;
              N) ref_name="$OPTARG" ;;
              o) base="$OPTARG" ;;
              1) r1+=("$OPTARG") ;;
              2) r2+=("$OPTARG") ;;
              x) r1_names+=("$OPTARG") ;;
              y) r2_names+=("$OPTARG") ;;
              b) bam="$OPTARG" ;;
              B) bam_name="$OPTARG" ;;
              *) echo "align.sh: bad option" >&2; exit 64 ;;
            esac
          done
          if [ "\${#r1_names[@]}" != "\${#r1[@]}" ] || [ "\${#r2_names[@]}" != "\${#r2[@]}" ] \
            || [ -z "$ref_name" ] || { [ -n "$bam" ] && [ -z "$bam_name" ]; }; then
            echo "align.sh: name the reference (-N) and each input (-x, -y, -B)" >&2; exit 64
          fi
          listed() {  # the header's name for a read stream: one input's name, or the cat of several
            if [ $# -eq 1 ]; then printf '%s' "$1"; else printf '<(cat %s)' "$*"; fi
          }
          # bwa mem writes its arguments into the @PG line: the staged reference and a /dev/fd/N
          # for each read stream (its last arguments); the header names them by the reference's
          # name and by what each stream reads (the array "reads") instead.
          named_mem() {
            local -a streams=("\${@: -\${#reads[@]}}") map=("$ref" "$ref_name")
            local i
            for ((i = 0; i < \${#reads[@]}; i++)); do map+=("\${streams[i]}" "\${reads[i]}"); done
            bwa mem "$@" | name_header "$ref_name" "\${map[@]}"
          }
          if [ -n "$bam" ]; then
            collate=(samtools collate -@ "$threads" -O -u) fastq=(samtools fastq -@ "$threads" -F 0x900 -)
            reads=("<(\${collate[*]} $bam_name collate.tmp | \${fastq[*]})")
            named_mem -t "$threads" -K 100000000 -p -R "$rg" "$ref" \
              <("\${collate[@]}" "$bam" collate.tmp | "\${fastq[@]}")
          else
            reads=("\$(listed "\${r1_names[@]}")" "\$(listed "\${r2_names[@]}")")
            named_mem -t "$threads" -K 100000000 -R "$rg" "$ref" \
              <(cat "\${r1[@]}") <(cat "\${r2[@]}")
          fi \
            | samtools fixmate -@ "$threads" -m -u - - \
            | samtools sort -@ "$threads" -T sort.tmp -u - \
            | samtools markdup -@ "$threads" -s -T markdup.tmp - "$base.bam"
          samtools index -@ "$threads" "$base.bam" "$base.bam.bai"
  ResourceRequirement:
    coresMin: $(inputs.threads)
    ramMin: 4096
hints:
  DockerRequirement:
    # bwa 0.7.17 + samtools 1.16 (biocontainers multi-package image)
    dockerPull: quay.io/biocontainers/mulled-v2-fe8faa35dbf6dc65a0f7f5d4ea12e31a79f73e40:1bd8542a8a0b42e0981337910954371d0230828e-0
  SoftwareRequirement:
    packages:
      bwa: {version: ["0.7.17"]}
      samtools: {version: ["1.16"]}
baseCommand: [bash, align.sh]
inputs:
  reference:
    type: File
    secondaryFiles: [.amb, .ann, .bwt, .pac, .sa, .fai]
    inputBinding: {prefix: -f}
  reference_name:
    type: string
    doc: "the name the headers give the reference (its registered name)"
    inputBinding: {prefix: -N}
  fastq_r1:
    type:
      - "null"
      - type: array
        items: File
        inputBinding: {prefix: "-1"}
  fastq_r2:
    type:
      - "null"
      - type: array
        items: File
        inputBinding: {prefix: "-2"}
  fastq_r1_names:
    doc: "the names the headers give fastq_r1 (the input blob names), same order"
    type:
      - "null"
      - type: array
        items: string
        inputBinding: {prefix: -x}
  fastq_r2_names:
    type:
      - "null"
      - type: array
        items: string
        inputBinding: {prefix: -y}
  input_bam:
    type: File?
    inputBinding: {prefix: -b}
  input_bam_name:
    type: string?
    doc: "the name the headers give input_bam"
    inputBinding: {prefix: -B}
  read_group:
    type: string
    doc: "@RG line with escaped tabs, as bwa mem -R takes it"
    inputBinding: {prefix: -R}
  threads:
    type: int
    inputBinding: {prefix: -t}
  base:
    type: string
    inputBinding: {prefix: -o}
outputs:
  bam:
    type: File
    secondaryFiles: [.bai]
    outputBinding: {glob: $(inputs.base).bam}
  log:
    type: stderr
stderr: align.log
