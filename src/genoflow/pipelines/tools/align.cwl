#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: align
label: "bwa mem | samtools fixmate | sort | markdup, then samtools index"
doc: |
  Aligns one sample: FASTQ pairs (several pairs are read as one stream: gzip members
  concatenate) or one BAM (collated and converted back to interleaved FASTQ), then fixes
  mate tags, coordinate-sorts, marks duplicates and indexes, all streaming through pipes.
  Every tool's stderr goes to align.log.
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: align.sh
        entry: |
          set -euo pipefail
          threads=1 rg="" ref="" base="" bam=""
          r1=() r2=()
          while getopts "t:R:f:o:1:2:b:" opt; do
            case "$opt" in
              t) threads="$OPTARG" ;;
              R) rg="$OPTARG" ;;
              f) ref="$OPTARG" ;;
              o) base="$OPTARG" ;;
              1) r1+=("$OPTARG") ;;
              2) r2+=("$OPTARG") ;;
              b) bam="$OPTARG" ;;
              *) echo "align.sh: bad option" >&2; exit 64 ;;
            esac
          done
          if [ -n "$bam" ]; then
            bwa mem -t "$threads" -K 100000000 -p -R "$rg" "$ref" \
              <(samtools collate -@ "$threads" -O -u "$bam" collate.tmp \
                | samtools fastq -@ "$threads" -F 0x900 -)
          else
            bwa mem -t "$threads" -K 100000000 -R "$rg" "$ref" \
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
  input_bam:
    type: File?
    inputBinding: {prefix: -b}
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
