#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: call_bcftools
label: "bcftools mpileup | bcftools call, bgzip + tabix on request"
doc: |
  Calls SNVs and indels with the multiallelic caller. With gvcf, non-variant sites are
  grouped into reference blocks (bcftools --gvcf 0) and the output is named .g.vcf.
  With bgzip, the output is bgzipped and tabix-indexed (.tbi); otherwise plain VCF. The header
  names the reference and the BAM, never their staged paths (name-header.sh).
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
          threads=1 ref="" ref_name="" bam="" base="" gvcf=0 bgzip=0
          while getopts "t:f:N:i:o:gz" opt; do
            case "$opt" in
              t) threads="$OPTARG" ;;
              f) ref="$OPTARG" ;;
              N) ref_name="$OPTARG" ;;
              i) bam="$OPTARG" ;;
              o) base="$OPTARG" ;;
              g) gvcf=1 ;;
              z) bgzip=1 ;;
              *) echo "call.sh: bad option" >&2; exit 64 ;;
            esac
          done
          [ -n "$ref_name" ] || { echo "call.sh: name the reference (-N)" >&2; exit 64; }
          mpileup=(-f "$ref" -a AD,DP) call=(-m) name="$base.vcf" compress=(cat)
          if [ "$gvcf" = 1 ]; then
            mpileup+=(--gvcf 0) call+=(--gvcf 0) name="$base.g.vcf"
          else
            call+=(-v)
          fi
          if [ "$bgzip" = 1 ]; then name="$name.gz" compress=(bgzip -@ "$threads"); fi
          # bcftools writes VCF text so that name_header can name the reference and the BAM
          # in the header by name instead of by staged path; bgzip compresses it on request
          bcftools mpileup --threads "$threads" "\${mpileup[@]}" -Ou "$bam" \
            | bcftools call --threads "$threads" "\${call[@]}" -O v \
            | name_header "$ref_name" "$ref" "$ref_name" "$bam" "\${bam##*/}" \
            | "\${compress[@]}" > "$name"
          if [ "$bgzip" = 1 ]; then bcftools index --tbi "$name"; fi
  ResourceRequirement:
    coresMin: $(inputs.threads)
    ramMin: 1024
hints:
  DockerRequirement:
    dockerPull: quay.io/biocontainers/bcftools:1.16--hfe4b78e_1
  SoftwareRequirement:
    packages:
      bcftools: {version: ["1.16"]}
baseCommand: [bash, call.sh]
inputs:
  reference:
    type: File
    secondaryFiles: [.fai]
    inputBinding: {prefix: -f}
  reference_name:
    type: string
    doc: "the name the header gives the reference (its registered name)"
    inputBinding: {prefix: -N}
  bam:
    type: File
    secondaryFiles: [.bai]
    inputBinding: {prefix: -i}
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
