#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: call_gatk
label: "GATK HaplotypeCaller, with BQSR (BaseRecalibrator + ApplyBQSR) when known sites are given"
doc: |
  BQSR runs only when known sites are given; the recalibrated BAM is used for calling only
  (the workflow's BAM output stays the duplicate-marked alignment). With gvcf, -ERC GVCF and
  the output is named .g.vcf. With bgzip, .vcf.gz + .tbi. The header names the reference and
  the BAM, never their staged paths (name-header.sh; the image's bgzip and tabix).
  Every tool's stderr goes to call.log.
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: name-header.sh
        entry: {$include: name-header.sh}
      - entryname: call.sh
        entry: |
          set -euo pipefail
          source ./name-header.sh
          threads=1 ref="" ref_name="" bam="" base="" gvcf=0 bgzip=0 known=()
          while getopts "t:f:N:i:o:k:gz" opt; do
            case "$opt" in
              t) threads="$OPTARG" ;;
              f) ref="$OPTARG" ;;
              N) ref_name="$OPTARG" ;;
              i) bam="$OPTARG" ;;
              o) base="$OPTARG" ;;
              k) known+=(--known-sites "$OPTARG") ;;
              g) gvcf=1 ;;
              z) bgzip=1 ;;
              *) echo "call.sh: bad option" >&2; exit 64 ;;
            esac
          done
          [ -n "$ref_name" ] || { echo "call.sh: name the reference (-N)" >&2; exit 64; }
          input="$bam"
          if [ "\${#known[@]}" -gt 0 ]; then
            gatk BaseRecalibrator -R "$ref" -I "$bam" "\${known[@]}" -O recal.table
            gatk ApplyBQSR -R "$ref" -I "$bam" --bqsr-recal-file recal.table -O recal.bam
            bam=recal.bam
          fi
          extra=() name="$base.vcf" expand=(cat) compress=(cat)
          if [ "$gvcf" = 1 ]; then extra+=(-ERC GVCF) name="$base.g.vcf"; fi
          if [ "$bgzip" = 1 ]; then
            name="$name.gz" expand=(bgzip -dc -@ "$threads") compress=(bgzip -@ "$threads")
          fi
          # GATK writes the calls unindexed under a working name; name_header then names the
          # reference, the BAM and the output in the header instead of their staged paths
          # (GATK has no switch for that), and the VCF is indexed once under its final name
          gatk HaplotypeCaller --native-pair-hmm-threads "$threads" -R "$ref" -I "$bam" \
            "\${extra[@]}" --create-output-variant-index false -O "called.$name"
          "\${expand[@]}" "called.$name" \
            | name_header "$ref_name" "$ref" "$ref_name" "$input" "\${input##*/}" \
              "called.$name" "$name" \
            | "\${compress[@]}" > "$name"
          rm "called.$name"
          if [ "$bgzip" = 1 ]; then tabix -p vcf "$name"; fi
  ResourceRequirement:
    coresMin: $(inputs.threads)
    ramMin: 8192
hints:
  DockerRequirement:
    dockerPull: broadinstitute/gatk:4.5.0.0
  SoftwareRequirement:
    packages:
      gatk4: {version: ["4.5.0.0"]}
baseCommand: [bash, call.sh]
inputs:
  reference:
    type: File
    secondaryFiles: [.fai, ^.dict]
    inputBinding: {prefix: -f}
  reference_name:
    type: string
    doc: "the name the header gives the reference (its registered name)"
    inputBinding: {prefix: -N}
  bam:
    type: File
    secondaryFiles: [.bai]
    inputBinding: {prefix: -i}
  known_sites:
    type:
      - "null"
      - type: array
        items: File
        inputBinding: {prefix: -k}
    secondaryFiles:
      - {pattern: .tbi, required: false}
      - {pattern: .idx, required: false}
  threads:
    type: int
    inputBinding: {prefix: -t}
  base:
    type: string
    inputBinding: {prefix: -o}
  gvcf:
    type: boolean
    inputBinding: {prefix: -g}
  bgzip:
    type: boolean
    inputBinding: {prefix: -z}
outputs:
  vcf:
    type: File
    secondaryFiles: [{pattern: .tbi, required: false}]
    outputBinding: {glob: ["$(inputs.base).vcf", "$(inputs.base).vcf.gz", "$(inputs.base).g.vcf", "$(inputs.base).g.vcf.gz"]}
  log:
    type: stderr
stderr: call.log
