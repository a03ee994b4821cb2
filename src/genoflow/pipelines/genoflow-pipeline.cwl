#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: Workflow
id: genoflow_pipeline
label: "genoflow: bwa mem -> sort -> mark duplicates -> index -> variant calling -> bgzip + tabix"
doc: |
  One sample per run: FASTQ pairs (fastq_r1[i] pairs with fastq_r2[i]) or one BAM (input_bam).
  The caller is bcftools (mpileup | call) or GATK HaplotypeCaller (BQSR when known_sites are
  given). genoflow.pipelines.build_job() writes the job document and says which requested
  options could not be honoured. Headers (BAM @PG, VCF ##reference and command lines) name
  the reference and the inputs by the *_name inputs, never by staged paths. Tools carry container hints (biocontainers, GATK image) for
  engines that run containers; without containers they come from PATH.
requirements:
  InlineJavascriptRequirement: {}  # only for the caller choice (`when`)
  MultipleInputFeatureRequirement: {}
inputs:
  fastq_r1: {type: "File[]?", doc: "first reads of each pair (gzipped FASTQ)"}
  fastq_r2: {type: "File[]?", doc: "second reads, same order as fastq_r1"}
  input_bam: {type: File?, doc: "instead of FASTQ: one BAM, realigned from its reads"}
  reference:
    type: File
    doc: "FASTA prepared by genoflow.pipelines.prepare_reference"
    secondaryFiles: [.amb, .ann, .bwt, .pac, .sa, .fai, ^.dict]
  reference_name: {type: string, doc: "the reference's registered name, which headers carry"}
  fastq_r1_names: {type: "string[]?", doc: "the input (blob) names of fastq_r1, for the headers"}
  fastq_r2_names: {type: "string[]?", doc: "the input (blob) names of fastq_r2"}
  input_bam_name: {type: string?, doc: "the input (blob) name of input_bam"}
  read_group: {type: string, doc: "@RG line with escaped tabs, e.g. @RG\\tID:x\\tSM:x"}
  threads: {type: int, default: 1}
  caller: {type: string, default: bcftools, doc: "bcftools | gatk"}
  gvcf: {type: boolean, default: false}
  bgzip: {type: boolean, default: false}
  known_sites: {type: "File[]?", doc: "VCFs of known sites for GATK BQSR"}
  base: {type: string, default: sample, doc: "output file name base"}
steps:
  align:
    run: tools/align.cwl
    in:
      reference: reference
      reference_name: reference_name
      fastq_r1: fastq_r1
      fastq_r2: fastq_r2
      fastq_r1_names: fastq_r1_names
      fastq_r2_names: fastq_r2_names
      input_bam: input_bam
      input_bam_name: input_bam_name
      read_group: read_group
      threads: threads
      base: base
    out: [bam, log]
  call_bcftools:
    run: tools/call-bcftools.cwl
    when: $(inputs.caller == "bcftools")
    in:
      caller: caller
      reference: reference
      reference_name: reference_name
      bam: align/bam
      threads: threads
      base: base
      gvcf: gvcf
      bgzip: bgzip
    out: [vcf, log]
  call_gatk:
    run: tools/call-gatk.cwl
    when: $(inputs.caller == "gatk")
    in:
      caller: caller
      reference: reference
      reference_name: reference_name
      bam: align/bam
      known_sites: known_sites
      threads: threads
      base: base
      gvcf: gvcf
      bgzip: bgzip
    out: [vcf, log]
outputs:
  bam: {type: File, outputSource: align/bam, secondaryFiles: [.bai]}
  vcf:
    type: File
    secondaryFiles: [{pattern: .tbi, required: false}]
    outputSource: [call_bcftools/vcf, call_gatk/vcf]
    pickValue: the_only_non_null
  logs:
    type: File[]
    outputSource: [align/log, call_bcftools/log, call_gatk/log]
    linkMerge: merge_flattened
    pickValue: all_non_null
