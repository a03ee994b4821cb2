#!/usr/bin/env cwl-runner
# genoflow's pipeline: one self-contained CWL v1.2 document (a packed $graph, as cwltool --pack
# writes it), the only copy of the steps. Any CWL engine runs #main (the default) with a plain
# job whose inputs are HTTPS/SAS URLs; genoflow server runs #analysis on the inputs it staged.
# `genoflow pipeline show|pack|job` prints it, writes it and builds a job. docs/pipeline.md.
cwlVersion: v1.2
$graph:
- class: Workflow
  id: main
  label: "genoflow: reads and reference from URLs -> analysis -> outputs committed to Blob"
  doc: |
    Inputs are URLs (e.g. blob URLs with a read SAS). The reference's index files are inputs
    of their own (a URL's secondary files cannot be found by suffix); the reference_index step
    puts them beside the FASTA under the names the tools expect. The deliver step commits
    every output to the output container through output_url (the container URL with a SAS
    that may create and write) as <output_base>.bam, .bam.bai, .vcf / .g.vcf[.gz][.tbi] and
    .logs.zip, each with its MD5, and returns what it wrote as `delivered`, so outputs land in
    Blob whatever engine ran the workflow.
  requirements:
    SubworkflowFeatureRequirement: {}
    StepInputExpressionRequirement: {}
    InlineJavascriptRequirement: {}
  inputs:
    fastq_r1: {type: "File[]?", doc: "first reads of each pair (gzipped FASTQ)"}
    fastq_r2: {type: "File[]?", doc: "second reads, same order as fastq_r1"}
    input_bam: {type: "File?", doc: "instead of FASTQ: one BAM, realigned from its reads"}
    reference: {type: File, doc: "the FASTA; its indexes are the reference_* inputs"}
    reference_amb: File
    reference_ann: File
    reference_bwt: File
    reference_pac: File
    reference_sa: File
    reference_fai: File
    reference_dict: File
    reference_name: {type: string, doc: "the reference's registered name, which headers carry"}
    fastq_r1_names: {type: "string[]?", doc: "the input (blob) names of fastq_r1, for the headers"}
    fastq_r2_names: {type: "string[]?", doc: "the input (blob) names of fastq_r2"}
    input_bam_name: {type: "string?", doc: "the input (blob) name of input_bam"}
    read_group: {type: string, doc: "@RG line with escaped tabs, e.g. @RG\\tID:x\\tSM:x"}
    threads: {type: int, default: 1}
    caller: {type: string, default: bcftools, doc: "bcftools | gatk"}
    gvcf: {type: boolean, default: false}
    bgzip: {type: boolean, default: false}
    known_sites: {type: "File[]?", doc: "VCFs of known sites for GATK BQSR"}
    output_url: {type: string, doc: "the output container's URL with a SAS (a secret)"}
    output_base: {type: string, doc: "blob name base of the outputs (may contain '/')"}
    overwrite: {type: boolean, default: false, doc: "replace existing blobs (else the run fails)"}
    include_logs: {type: boolean, default: true, doc: "also write <output_base>.logs.zip"}
    shard_reads: {type: int, default: 0, doc: "read pairs per alignment shard (0: no shards)"}
    bwa_batch: {type: int, default: 100000000, doc: "bwa mem -K: bases per batch"}
    call_regions: {type: "string[]", default: [], doc: "one calling shard per item (#analysis)"}
  steps:
    reference_index:
      run: "#reference_index"
      in:
        fasta: reference
        amb: reference_amb
        ann: reference_ann
        bwt: reference_bwt
        pac: reference_pac
        sa: reference_sa
        fai: reference_fai
        dict: reference_dict
      out: [reference]
    analysis:
      run: "#analysis"
      in:
        reference: reference_index/reference
        reference_name: reference_name
        fastq_r1: fastq_r1
        fastq_r2: fastq_r2
        fastq_r1_names: fastq_r1_names
        fastq_r2_names: fastq_r2_names
        input_bam: input_bam
        input_bam_name: input_bam_name
        read_group: read_group
        threads: threads
        caller: caller
        gvcf: gvcf
        bgzip: bgzip
        known_sites: known_sites
        shard_reads: shard_reads
        bwa_batch: bwa_batch
        call_regions: call_regions
        base: {source: output_base, valueFrom: "$(self.replace(/\\//g, '_'))"}
      out: [bam, vcf, logs, qc]
    deliver:
      run: "#deliver"
      in:
        bam: analysis/bam
        vcf: analysis/vcf
        qc: analysis/qc
        logs: analysis/logs
        output_url: output_url
        output_base: output_base
        base: {source: output_base, valueFrom: "$(self.replace(/\\//g, '_'))"}
        overwrite: overwrite
        include_logs: include_logs
      out: [delivered]
  outputs:
    delivered:
      doc: "what deliver committed: name, kind, size, md5, container, url of each blob"
      type:
        type: array
        items:
          type: record
          fields: {name: string, kind: string, size: long, md5: string, container: string, url: string}
      outputSource: deliver/delivered
- class: ExpressionTool
  id: reference_index
  label: "the FASTA with its index files as secondary files, named as the tools expect"
  requirements:
    InlineJavascriptRequirement: {}
  inputs:
    fasta: File
    amb: File
    ann: File
    bwt: File
    pac: File
    sa: File
    fai: File
    dict: File
  outputs:
    reference:
      type: File
      secondaryFiles: [.amb, .ann, .bwt, .pac, .sa, .fai, ^.dict]
  expression: |
    ${
      var fasta = inputs.fasta, named = function (file, name) { file.basename = name; return file; };
      fasta.secondaryFiles = ["amb", "ann", "bwt", "pac", "sa", "fai"].map(function (suffix) {
        return named(inputs[suffix], fasta.basename + "." + suffix);
      }).concat([named(inputs.dict, fasta.nameroot + ".dict")]);
      return {reference: fasta};
    }
- class: CommandLineTool
  id: deliver
  label: "commit the outputs to the output container (Put Blob / Put Block List, MD5s)"
  doc: |
    Python 3 standard library only. Each blob appears complete or not at all, and never
    replaces an existing one unless overwrite (If-None-Match: *). The SAS is read from a file
    in the work dir, never from the command line. Prints one line per blob written.
  requirements:
    InitialWorkDirRequirement:
      listing:
        - entryname: output.url
          entry: $(inputs.output_url)
        - entryname: deliver.py
          entry: |
            # deliver.py: commit the run's files to the output container through its SAS, with MD5s.
            # Standard library only (any engine, any image with python3). The container URL with its SAS
            # is read from output.url (never an argument: engines log command lines); no message names it.
            import base64, hashlib, json, os, sys, time, urllib.error, urllib.parse, urllib.request, zipfile

            BLOCK = 8 << 20  # larger files go as 8 MiB blocks, committed by one Put Block List
            VERSION = "2021-08-06"
            TRIES = 5
            KINDS = ((".g.vcf.gz.tbi", "tbi"), (".vcf.gz.tbi", "tbi"), (".bam.bai", "bai"),
                     (".g.vcf.gz", "gvcf"), (".g.vcf", "gvcf"), (".vcf.gz", "vcf"), (".vcf", "vcf"),
                     (".bam", "bam"), (".logs.zip", "logs"), (".qc.json", "qc"), (".qc.html", "qc-html"),
                     (".bcftools_stats.txt", "qc-bcftools"), (".mosdepth.global.dist.txt", "qc-mosdepth-dist"),
                     (".mosdepth.summary.txt", "qc-mosdepth"), (".flagstat", "qc-flagstat"),
                     (".stats", "qc-samtools"))


            class Refused(Exception):
                pass


            def kind_of(name):
                return next((kind for suffix, kind in KINDS if name.endswith(suffix)), "file")


            def request(url, method, body, headers):
                """One storage request, retried on faults that may pass (connection, 408, 429, 5xx)."""
                for attempt in range(TRIES):
                    req = urllib.request.Request(url, data=body, method=method, headers=headers)
                    try:
                        with urllib.request.urlopen(req, timeout=120) as answer:
                            return answer.status
                    except urllib.error.HTTPError as error:
                        code = error.headers.get("x-ms-error-code") or error.reason
                        if error.code not in (408, 429, 500, 502, 503, 504) or attempt == TRIES - 1:
                            raise Refused(f"HTTP {error.code} {code}") from None
                    except (urllib.error.URLError, OSError) as error:
                        if attempt == TRIES - 1:
                            reason = getattr(error, "reason", error)
                            raise Refused(f"no answer ({type(reason).__name__})") from None
                    time.sleep(2**attempt)


            def upload(container_url, sas, name, path, overwrite):
                """Put Blob (small) or Put Block + Put Block List: the blob appears complete or not at
                all. Each request carries its Content-MD5 (storage checks it); returns (size, md5 hex)."""
                url = f"{container_url}/{urllib.parse.quote(name)}"
                whole = hashlib.md5()
                common = {"x-ms-version": VERSION}
                if not overwrite:
                    common["If-None-Match"] = "*"  # refuse to replace a blob, atomically
                size, blocks = os.path.getsize(path), []
                with open(path, "rb") as handle:
                    if size <= BLOCK:
                        data = handle.read()
                        whole.update(data)
                        digest = base64.b64encode(hashlib.md5(data).digest()).decode()
                        request(f"{url}?{sas}", "PUT", data, {**common, "x-ms-blob-type": "BlockBlob",
                                "Content-MD5": digest, "x-ms-blob-content-md5": digest})
                        return size, whole.hexdigest()
                    while True:
                        data = handle.read(BLOCK)
                        if not data:
                            break
                        whole.update(data)
                        block = base64.b64encode(f"{len(blocks):08d}".encode()).decode()
                        query = f"comp=block&blockid={urllib.parse.quote(block)}&{sas}"
                        headers = {"x-ms-version": VERSION,
                                   "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()}
                        request(f"{url}?{query}", "PUT", data, headers)
                        blocks.append(block)
                listing = "".join(f"<Latest>{block}</Latest>" for block in blocks)
                body = f'<?xml version="1.0" encoding="utf-8"?><BlockList>{listing}</BlockList>'.encode()
                digest = base64.b64encode(whole.digest()).decode()
                request(f"{url}?comp=blocklist&{sas}", "PUT", body,
                        {**common, "x-ms-blob-content-md5": digest, "Content-Type": "application/xml"})
                return size, whole.hexdigest()


            def logs_zip(base, names, logs):
                target = f"{base}.logs.zip"
                with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                    archive.writestr("outputFileList.txt", "\n".join(names) + "\n")
                    for path in logs:
                        archive.write(path, f"tools/{os.path.basename(path)}")
                return target


            def main(argv):
                options = {"--log": [], "--file": []}
                flags = set()
                it = iter(argv)
                for arg in it:
                    if arg in ("--overwrite", "--include-logs"):
                        flags.add(arg)
                    elif arg in options:
                        options[arg].append(next(it))
                    else:
                        options[arg] = next(it)
                base, output_base = options["--base"], options["--output-base"]
                with open("output.url") as handle:
                    container_url, _, sas = handle.read().strip().partition("?")
                container_url = container_url.rstrip("/")
                files = []
                for path in options["--file"]:
                    for candidate in (path, f"{path}.bai", f"{path}.tbi"):
                        if os.path.isfile(candidate):
                            files.append(candidate)
                names = [output_base + os.path.basename(p)[len(base):] for p in files]
                if "--include-logs" in flags:
                    files.append(logs_zip(base, names + [f"{output_base}.logs.zip"], options["--log"]))
                    names.append(f"{output_base}.logs.zip")
                container = urllib.parse.unquote(urllib.parse.urlsplit(container_url).path).rsplit("/", 1)[-1]
                delivered = []
                for name, path in zip(names, files):
                    try:
                        size, md5 = upload(container_url, sas, name, path, "--overwrite" in flags)
                    except Refused as error:
                        print(f"deliver: could not write {container}/{name}: {error}", file=sys.stderr)
                        return 1
                    print(f"deliver: wrote {container}/{name} ({size} bytes, md5 {md5})", file=sys.stderr)
                    delivered.append({"name": name, "kind": kind_of(name), "size": size, "md5": md5,
                                      "container": container, "url": f"{container_url}/{urllib.parse.quote(name)}"})
                with open("cwl.output.json", "w") as handle:
                    json.dump({"delivered": delivered}, handle)
                return 0


            sys.exit(main(sys.argv[1:]))
    NetworkAccess: {networkAccess: true}
    ResourceRequirement: {coresMin: 1, ramMin: 256}
  hints:
    DockerRequirement: {dockerPull: "python:3.12-slim"}
  baseCommand: [python3, deliver.py]
  inputs:
    bam: {type: File, secondaryFiles: [.bai], inputBinding: {prefix: --file, position: 1}}
    vcf:
      type: File
      secondaryFiles: [{pattern: .tbi, required: false}]
      inputBinding: {prefix: --file, position: 2}
    qc:
      doc: "the qc step's files: delivered after the VCF, named <output_base><suffix>"
      type:
        type: array
        items: File
        inputBinding: {prefix: --file}
      default: []
      inputBinding: {position: 3}
    logs:
      type:
        type: array
        items: File
        inputBinding: {prefix: --log}
      inputBinding: {position: 3}
    output_url: string
    output_base: {type: string, inputBinding: {prefix: --output-base}}
    base: {type: string, inputBinding: {prefix: --base}}
    overwrite: {type: boolean, inputBinding: {prefix: --overwrite}}
    include_logs: {type: boolean, inputBinding: {prefix: --include-logs}}
  outputs:
    delivered:
      type:
        type: array
        items:
          type: record
          fields:
            name: {type: string, doc: "blob name in the output container"}
            kind: {type: string, doc: "bam, bai, vcf, gvcf, tbi or logs"}
            size: long
            md5: {type: string, doc: "hex MD5 of the bytes written"}
            container: string
            url: {type: string, doc: "the blob URL, without the SAS"}
- class: Workflow
  id: analysis
  label: "genoflow: bwa mem -> sort -> mark duplicates -> index -> variant calling -> bgzip + tabix"
  doc: |
    The analysis on files the engine can read (what genoflow server runs on the inputs it
    staged; #main runs it on URLs). One sample per run: FASTQ pairs (fastq_r1[i] pairs with
    fastq_r2[i]) or one BAM (input_bam). The caller is bcftools (mpileup | call) or GATK
    HaplotypeCaller (BQSR when known_sites are given). Headers (BAM @PG, VCF ##reference and
    command lines) name the reference and the inputs by the *_name inputs, never by staged
    paths. Tools carry container hints (biocontainers, GATK image) for engines that run
    containers; without containers they come from PATH.
    Scatter-gather (docs/pipeline.md, "Shards"): with shard_reads > 0, FASTQ pairs are split
    into parts of whole bwa batches, each aligned (bwa mem | fixmate | sort) as its own job,
    then merged and duplicate-marked once; with call_regions, bcftools calls each item (a
    list of regions) as its own job and the parts are concatenated in order. The records are
    those of the unsharded run.
  requirements:
    InlineJavascriptRequirement: {}  # the `when` choices
    MultipleInputFeatureRequirement: {}
    SubworkflowFeatureRequirement: {}
  inputs:
    fastq_r1: {type: "File[]?", doc: "first reads of each pair (gzipped FASTQ)"}
    fastq_r2: {type: "File[]?", doc: "second reads, same order as fastq_r1"}
    input_bam: {type: "File?", doc: "instead of FASTQ: one BAM, realigned from its reads"}
    reference:
      type: File
      doc: "FASTA prepared by genoflow.pipelines.prepare_reference"
      secondaryFiles: [.amb, .ann, .bwt, .pac, .sa, .fai, ^.dict]
    reference_name: {type: string, doc: "the reference's registered name, which headers carry"}
    fastq_r1_names: {type: "string[]?", doc: "the input (blob) names of fastq_r1, for the headers"}
    fastq_r2_names: {type: "string[]?", doc: "the input (blob) names of fastq_r2"}
    input_bam_name: {type: "string?", doc: "the input (blob) name of input_bam"}
    read_group: {type: string, doc: "@RG line with escaped tabs, e.g. @RG\\tID:x\\tSM:x"}
    threads: {type: int, default: 1}
    caller: {type: string, default: bcftools, doc: "bcftools | gatk"}
    gvcf: {type: boolean, default: false}
    bgzip: {type: boolean, default: false}
    known_sites: {type: "File[]?", doc: "VCFs of known sites for GATK BQSR"}
    base: {type: string, default: sample, doc: "output file name base"}
    shard_reads:
      type: int
      default: 0
      doc: "read pairs per alignment shard, rounded up to whole bwa batches (0: one job)"
    bwa_batch:
      type: int
      default: 100000000
      doc: "bwa mem -K: bases per batch, fixed so the alignments depend on neither threads nor shards"
    call_regions:
      type: "string[]"
      default: []
      doc: |
        bcftools only: one calling job per item, each a list of regions, one per line as
        CHROM<tab>START<tab>END (1-based, inclusive), in reference order, not overlapping,
        the items in reference order too (the parts are concatenated as given). Empty or
        one item: one job over the whole reference.
  steps:
    align:
      run: "#align"
      when: $(inputs.shard_reads < 1 || inputs.input_bam != null)
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
        bwa_batch: bwa_batch
        shard_reads: shard_reads
        base: base
      out: [bam, log]
    align_parts:
      run: "#align_parts"
      when: $(inputs.shard_reads > 0 && inputs.input_bam == null)
      in:
        fastq_r1: fastq_r1
        fastq_r2: fastq_r2
        input_bam: input_bam
        shard_reads: shard_reads
        bwa_batch: bwa_batch
        reference: reference
        reference_name: reference_name
        fastq_r1_names: fastq_r1_names
        fastq_r2_names: fastq_r2_names
        read_group: read_group
        threads: threads
        base: base
      out: [bam, logs]
    call_bcftools:
      run: "#call_bcftools"
      when: $(inputs.caller == "bcftools" && inputs.call_regions.length < 2)
      in:
        caller: caller
        call_regions: call_regions
        reference: reference
        reference_name: reference_name
        bam: {source: [align/bam, align_parts/bam], pickValue: the_only_non_null}
        threads: threads
        base: base
        gvcf: gvcf
        bgzip: bgzip
      out: [vcf, log]
    call_parts:
      run: "#call_parts"
      when: $(inputs.caller == "bcftools" && inputs.call_regions.length > 1)
      in:
        caller: caller
        call_regions: call_regions
        reference: reference
        reference_name: reference_name
        bam: {source: [align/bam, align_parts/bam], pickValue: the_only_non_null}
        threads: threads
        base: base
        gvcf: gvcf
        bgzip: bgzip
      out: [vcf, logs]
    call_gatk:
      run: "#call_gatk"
      when: $(inputs.caller == "gatk")
      in:
        caller: caller
        reference: reference
        reference_name: reference_name
        bam: {source: [align/bam, align_parts/bam], pickValue: the_only_non_null}
        known_sites: known_sites
        threads: threads
        base: base
        gvcf: gvcf
        bgzip: bgzip
      out: [vcf, log]
    qc_report:
      run: "#qc"
      in:
        bam: {source: [align/bam, align_parts/bam], pickValue: the_only_non_null}
        vcf:
          source: [call_bcftools/vcf, call_parts/vcf, call_gatk/vcf]
          pickValue: the_only_non_null
        threads: threads
        base: base
      out: [files, log]
  outputs:
    bam:
      type: File
      secondaryFiles: [.bai]
      outputSource: [align/bam, align_parts/bam]
      pickValue: the_only_non_null
    vcf:
      type: File
      secondaryFiles: [{pattern: .tbi, required: false}]
      outputSource: [call_bcftools/vcf, call_parts/vcf, call_gatk/vcf]
      pickValue: the_only_non_null
    logs:
      type: File[]
      outputSource: [align/log, align_parts/logs, call_bcftools/log, call_parts/logs, call_gatk/log, qc_report/log]
      linkMerge: merge_flattened
      pickValue: all_non_null
    qc:
      type: File[]
      doc: "<base>.qc.json, .qc.html and the tools' native outputs (docs/qc.md)"
      outputSource: qc_report/files
- class: Workflow
  id: align_parts
  label: "FASTQ pairs split into parts aligned side by side, then sorted and duplicate-marked once"
  doc: |
    split_reads -> align_shard (one job per part, scattered) -> merge_markdup: the records of
    the unsharded align step (docs/pipeline.md, "Shards"). A workflow of its own so that an
    unsharded run skips it whole.
  requirements:
    ScatterFeatureRequirement: {}
    StepInputExpressionRequirement: {}
    InlineJavascriptRequirement: {}  # the part's name says how many pairs come before it
  inputs:
    fastq_r1: "File[]?"
    fastq_r2: "File[]?"
    shard_reads: int
    bwa_batch: int
    reference:
      type: File
      secondaryFiles: [.amb, .ann, .bwt, .pac, .sa, .fai, ^.dict]
    reference_name: string
    fastq_r1_names: "string[]?"
    fastq_r2_names: "string[]?"
    read_group: string
    threads: int
    base: string
  steps:
    split_reads:
      run: "#split_reads"
      in:
        fastq_r1: fastq_r1
        fastq_r2: fastq_r2
        shard_reads: shard_reads
        bwa_batch: bwa_batch
      out: [r1, r2, log]
    align_shard:
      run: "#align_shard"
      scatter: [fastq_r1, fastq_r2]
      scatterMethod: dotproduct
      in:
        fastq_r1: split_reads/r1
        fastq_r2: split_reads/r2
        pad: {valueFrom: "$(parseInt(inputs.fastq_r1.basename.split('.')[1]))"}
        reference: reference
        reference_name: reference_name
        fastq_r1_names: fastq_r1_names
        fastq_r2_names: fastq_r2_names
        read_group: read_group
        threads: threads
        bwa_batch: bwa_batch
      out: [bam, log]
    merge:
      run: "#merge_markdup"
      in:
        parts: align_shard/bam
        threads: threads
        base: base
      out: [bam, log]
  outputs:
    bam: {type: File, secondaryFiles: [.bai], outputSource: merge/bam}
    logs:
      type: File[]
      outputSource: [split_reads/log, align_shard/log, merge/log]
      linkMerge: merge_flattened
- class: Workflow
  id: call_parts
  label: "bcftools over each item of call_regions side by side, concatenated in order"
  doc: |
    call_bcftools (one job per item, scattered; one core each) -> gather_vcf: the records of
    the unsharded call step (docs/pipeline.md, "Shards"). A workflow of its own so that an
    unsharded run skips it whole.
  requirements:
    ScatterFeatureRequirement: {}
    StepInputExpressionRequirement: {}
    InlineJavascriptRequirement: {}  # each shard's name, from its first region
  inputs:
    call_regions: "string[]"
    reference:
      type: File
      secondaryFiles: [.amb, .ann, .bwt, .pac, .sa, .fai, ^.dict]
    reference_name: string
    bam: {type: File, secondaryFiles: [.bai]}
    threads: int
    base: string
    gvcf: boolean
    bgzip: boolean
  steps:
    call_shard:
      run: "#call_bcftools"
      scatter: region
      in:
        region: call_regions
        reference: reference
        reference_name: reference_name
        bam: bam
        threads: {valueFrom: "$(1)"}  # mpileup uses one core whatever --threads says
        base:
          source: base
          valueFrom: "$(self + '.' + inputs.region.split('\\t').slice(0, 2).join('_').replace(/[^A-Za-z0-9._-]/g, '_'))"
        gvcf: gvcf
        bgzip: {valueFrom: "$(false)"}
      out: [vcf, log]
    gather_vcf:
      run: "#gather_vcf"
      in:
        parts: call_shard/vcf
        reference_name: reference_name
        threads: threads
        base: base
        gvcf: gvcf
        bgzip: bgzip
      out: [vcf, log]
  outputs:
    vcf:
      type: File
      secondaryFiles: [{pattern: .tbi, required: false}]
      outputSource: gather_vcf/vcf
    logs:
      type: File[]
      outputSource: [call_shard/log, gather_vcf/log]
      linkMerge: merge_flattened
- class: CommandLineTool
  id: align
  label: "bwa mem | samtools fixmate | sort | markdup (indexed as written)"
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
          entry: &name_header |
              # Sourced by the tool scripts (inside CWL: every dollar-brace escaped as backslash-dollar-brace).
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
        - entryname: align.sh
          entry: &align_script |
            set -euo pipefail
            source ./name-header.sh
            threads=1 rg="" ref="" ref_name="" base="" bam="" bam_name="" batch=100000000 pad=-1
            r1=() r2=() r1_names=() r2_names=()
            while getopts "t:R:f:N:o:1:2:x:y:b:B:K:P:" opt; do
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
                K) batch="$OPTARG" ;;
                P) pad="$OPTARG" ;;  # a part (-1 and -2 one file each) with $pad pairs before it
                *) echo "align.sh: bad option" >&2; exit 64 ;;
              esac
            done
            # a part's reads are named as the whole input's (-x, -y): every part's @PG line is the same
            if { [ "$pad" -lt 0 ] && { [ "\${#r1_names[@]}" != "\${#r1[@]}" ] \
                || [ "\${#r2_names[@]}" != "\${#r2[@]}" ]; }; } \
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
            # bwa mem numbers the reads it has seen (n_processed) and breaks ties between equally
            # good hits by a hash of that number, and estimates insert sizes per batch of -K
            # bases. A part is whole batches, read after $pad stand-in pairs that end a batch, so
            # it is aligned exactly as within the whole input: $pad-1 pairs of one N, then one
            # pair long enough to close the batch (bwa: size >= K). Their records are dropped.
            padding() {
              [ "$pad" -gt 0 ] || return 0
              local cycle=\$(( (batch + 1) / 2 )) size last
              size=\$(( 2 * ((pad - 1) % cycle) ))
              last=\$(( (batch - size + 1) / 2 ))
              awk -v n=\$((pad - 1)) 'BEGIN { for (i = 0; i < n; i++) print "@pad\nN\n+\n#" }'
              printf '@pad\n'; head -c "$last" /dev/zero | tr '\0' N
              printf '\n+\n'; head -c "$last" /dev/zero | tr '\0' '#'; printf '\n'
            }
            drop_padding() {  # the SAM header, then the records after the padding's 2*pad
              local line
              [ "$pad" -gt 0 ] || { cat; return; }
              while IFS= read -r line; do
                case $line in @*) printf '%s\n' "$line" ;; *) break ;; esac
              done
              tail -n +\$((2 * pad))
            }
            aligned() {  # SAM -> fixmate -> "$@" (its output options)
              if [ -n "$bam" ]; then
                collate=(samtools collate -@ "$threads" -O -u) fastq=(samtools fastq -@ "$threads" -F 0x900 -)
                reads=("<(\${collate[*]} $bam_name collate.tmp | \${fastq[*]})")
                named_mem -t "$threads" -K "$batch" -p -R "$rg" "$ref" \
                  <("\${collate[@]}" "$bam" collate.tmp | "\${fastq[@]}")
              else
                reads=("\$(listed "\${r1_names[@]}")" "\$(listed "\${r2_names[@]}")")
                named_mem -t "$threads" -K "$batch" -R "$rg" "$ref" \
                  <(padding; cat "\${r1[@]}") <(padding; cat "\${r2[@]}") | drop_padding
              fi | samtools fixmate -@ "$threads" -m "$@"
            }
            if [ "$pad" -ge 0 ]; then  # a part: in read order; the parts are sorted as one stream
              aligned -O bam,level=1 - part.bam
            else
              # the index is written as the BAM is (no second pass over it)
              aligned -u - - | samtools sort -@ "$threads" -T sort.tmp -u - \
                | samtools markdup -@ "$threads" -s -T markdup.tmp --write-index - \
                  "$base.bam##idx##$base.bam.bai"
            fi
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
    bwa_batch:
      type: int
      doc: "bwa mem -K"
      inputBinding: {prefix: -K}
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
- class: CommandLineTool
  id: split_reads
  label: "FASTQ pairs -> parts of whole bwa batches (plain FASTQ), for align_shard"
  doc: |
    Reads the pairs (gzip or plain; several files read as one stream) and writes
    part-NNNNNN.P_1.fq and part-NNNNNN.P_2.fq, where P is the number of pairs before the part.
    A part ends where bwa mem -K would end a batch (the pairs' bases summed until they reach
    bwa_batch) once it holds at least shard_reads pairs, so each part is whole batches of the
    unsharded run. Parts are plain FASTQ: compressing them again would cost more than it saves
    on one machine. Messages go to split.log.
  requirements:
    InitialWorkDirRequirement:
      listing:
        - entryname: split.sh
          entry: |
            set -euo pipefail
            pairs=0 batch=100000000 r1=() r2=()
            while getopts "n:K:1:2:" opt; do
              case "$opt" in
                n) pairs="$OPTARG" ;;
                K) batch="$OPTARG" ;;
                1) r1+=("$OPTARG") ;;
                2) r2+=("$OPTARG") ;;
                *) echo "split.sh: bad option" >&2; exit 64 ;;
              esac
            done
            # mate 1 on stdin, mate 2 read by getline in lockstep: four lines each per pair
            gzip -dcf -- "\${r1[@]}" | awk -v per="$pairs" -v batch="$batch" \
              -v mate2=<(gzip -dcf -- "\${r2[@]}") '
              function fail(message) { print "split.sh: " message > "/dev/stderr"; failed = 1; exit 1 }
              BEGIN { held = -1 }
              {
                h = $0
                if ((getline s) <= 0 || (getline p) <= 0 || (getline q) <= 0) fail("mate 1 ends inside a record")
                if ((getline h2 < mate2) <= 0 || (getline s2 < mate2) <= 0 || (getline p2 < mate2) <= 0 \
                  || (getline q2 < mate2) <= 0) fail("mate 2 has fewer reads than mate 1")
                if (held < 0) {
                  part++; held = 0
                  one = sprintf("part-%06d.%d_1.fq", part, total); two = sprintf("part-%06d.%d_2.fq", part, total)
                }
                print h "\n" s "\n" p "\n" q > one
                print h2 "\n" s2 "\n" p2 "\n" q2 > two
                held++; total++; size += length(s) + length(s2)
                if (size >= batch) { size = 0; if (held >= per) { close(one); close(two); held = -1 } }
              }
              END {
                if (failed) exit 1
                if (total == 0) fail("no reads")
                if ((getline h2 < mate2) > 0) fail("mate 2 has more reads than mate 1")
                printf "split.sh: %d pairs in %d parts\n", total, part > "/dev/stderr"
              }'
    ResourceRequirement: {coresMin: 1, ramMin: 256}
  hints:
    DockerRequirement:
      dockerPull: quay.io/biocontainers/mulled-v2-fe8faa35dbf6dc65a0f7f5d4ea12e31a79f73e40:1bd8542a8a0b42e0981337910954371d0230828e-0
  baseCommand: [bash, split.sh]
  inputs:
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
    shard_reads: {type: int, inputBinding: {prefix: -n}}
    bwa_batch: {type: int, inputBinding: {prefix: -K}}
  outputs:
    r1: {type: "File[]", outputBinding: {glob: "part-*_1.fq"}}
    r2: {type: "File[]", outputBinding: {glob: "part-*_2.fq"}}
    log: {type: stderr}
  stderr: split.log
- class: CommandLineTool
  id: align_shard
  label: "one part of the reads: bwa mem | samtools fixmate (align.sh -P)"
  doc: |
    The align step's script on one part from split_reads: aligned as within the whole input
    (see align.sh), mate tags fixed, in read order into part.bam (the parts are sorted and
    duplicate-marked as one stream). Every tool's stderr goes to align.part-NNNNNN.log.
  requirements:
    InitialWorkDirRequirement:
      listing:
        - entryname: name-header.sh
          entry: *name_header
        - entryname: align.sh
          entry: *align_script
    ResourceRequirement:
      coresMin: $(inputs.threads)
      ramMin: 4096
  hints:
    DockerRequirement:
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
    reference_name: {type: string, inputBinding: {prefix: -N}}
    fastq_r1: {type: File, inputBinding: {prefix: "-1"}}
    fastq_r2: {type: File, inputBinding: {prefix: "-2"}}
    pad: {type: int, doc: "read pairs before this part", inputBinding: {prefix: -P}}
    fastq_r1_names:
      doc: "the whole input's names (every part's header names the input it came from)"
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
    read_group: {type: string, inputBinding: {prefix: -R}}
    threads: {type: int, inputBinding: {prefix: -t}}
    bwa_batch: {type: int, inputBinding: {prefix: -K}}
  outputs:
    bam: {type: File, outputBinding: {glob: part.bam}}
    log: {type: stderr}
  stderr: $("align." + inputs.fastq_r1.basename.split(".")[0] + ".log")
- class: CommandLineTool
  id: merge_markdup
  label: "samtools cat (parts in order) | sort | markdup (indexed as written)"
  doc: |
    The parts, concatenated in order, are the very records the unsharded align step sorts
    (samtools cat copies them; samtools merge would move each RG tag to the end of its
    record), so sorting and marking duplicates once gives the same BAM records. Every tool's
    stderr goes to merge.log.
  requirements:
    InitialWorkDirRequirement:
      listing:
        - entryname: merge.sh
          entry: |
            set -euo pipefail
            threads=1 base="" parts=()
            while getopts "t:o:i:" opt; do
              case "$opt" in
                t) threads="$OPTARG" ;;
                o) base="$OPTARG" ;;
                i) parts+=("$OPTARG") ;;
                *) echo "merge.sh: bad option" >&2; exit 64 ;;
              esac
            done
            # linked under their order, so the @PG line of cat names parts, not staged paths
            names=()
            for ((i = 0; i < \${#parts[@]}; i++)); do
              names+=("\$(printf 'part-%06d.bam' \$((i + 1)))")
              ln -sf "\${parts[i]}" "\${names[i]}"
            done
            samtools cat -o - "\${names[@]}" \
              | samtools sort -@ "$threads" -T sort.tmp -u - \
              | samtools markdup -@ "$threads" -s -T markdup.tmp --write-index - \
                "$base.bam##idx##$base.bam.bai"
    ResourceRequirement:
      coresMin: $(inputs.threads)
      ramMin: 4096
  hints:
    DockerRequirement:
      dockerPull: quay.io/biocontainers/mulled-v2-fe8faa35dbf6dc65a0f7f5d4ea12e31a79f73e40:1bd8542a8a0b42e0981337910954371d0230828e-0
    SoftwareRequirement:
      packages:
        samtools: {version: ["1.16"]}
  baseCommand: [bash, merge.sh]
  inputs:
    parts:
      type:
        type: array
        items: File
        inputBinding: {prefix: -i}
    threads: {type: int, inputBinding: {prefix: -t}}
    base: {type: string, inputBinding: {prefix: -o}}
  outputs:
    bam:
      type: File
      secondaryFiles: [.bai]
      outputBinding: {glob: $(inputs.base).bam}
    log: {type: stderr}
  stderr: merge.log
- class: CommandLineTool
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
          entry: *name_header
        - entryname: call.sh
          entry: |
            set -euo pipefail
            source ./name-header.sh
            threads=1 ref="" ref_name="" bam="" base="" gvcf=0 bgzip=0 region=""
            while getopts "t:f:N:i:o:r:gz" opt; do
              case "$opt" in
                t) threads="$OPTARG" ;;
                f) ref="$OPTARG" ;;
                N) ref_name="$OPTARG" ;;
                i) bam="$OPTARG" ;;
                o) base="$OPTARG" ;;
                r) region="$OPTARG" ;;
                g) gvcf=1 ;;
                z) bgzip=1 ;;
                *) echo "call.sh: bad option" >&2; exit 64 ;;
              esac
            done
            [ -n "$ref_name" ] || { echo "call.sh: name the reference (-N)" >&2; exit 64; }
            mpileup=(-f "$ref" -a AD,DP) call=(-m) name="$base.vcf" compress=(cat)
            if [ -n "$region" ]; then  # a calling shard: CHROM, START, END (1-based) per line
              printf '%s\n' "$region" > regions.tsv
              mpileup+=(-R regions.tsv)
            fi
            if [ "$gvcf" = 1 ]; then
              mpileup+=(--gvcf 0) call+=(--gvcf 0) name="$base.g.vcf"
            else
              call+=(-v)
            fi
            if [ "$bgzip" = 1 ]; then name="$name.gz" compress=(bgzip -@ "$threads"); fi
            # bcftools writes VCF text so that name_header can name the reference and the BAM
            # in the header by name instead of by staged path; bgzip compresses it on request
            # low-evidence calls keep their record with a FILTER value; the rest are PASS
            # (reference blocks of a gVCF too). Thresholds from the demo's truth: docs/pipeline.md
            bcftools mpileup --threads "$threads" "\${mpileup[@]}" -Ou "$bam" \
              | bcftools call --threads "$threads" "\${call[@]}" -Ou \
              | bcftools filter -m+ -s LowQual -e 'TYPE!="ref" && QUAL<10' -Ou \
              | bcftools filter -m+ -s LowDP -e 'TYPE!="ref" && INFO/DP<3' -O v \
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
    region:
      type: string?
      doc: "a calling shard: its regions, CHROM<tab>START<tab>END per line (1-based)"
      inputBinding: {prefix: -r}
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
  stderr: '$(inputs.region ? "call." + inputs.base + ".log" : "call.log")'
- class: CommandLineTool
  id: gather_vcf
  label: "bcftools concat of the calling shards, in order; bgzip + tabix on request"
  doc: |
    The shards' VCFs (same header, regions in reference order) concatenated as given, the
    header naming the reference (name-header.sh), compressed and indexed as call_bcftools
    would. Every tool's stderr goes to gather.log.
  requirements:
    InitialWorkDirRequirement:
      listing:
        - entryname: name-header.sh
          entry: *name_header
        - entryname: gather.sh
          entry: |
            set -euo pipefail
            source ./name-header.sh
            threads=1 ref_name="" base="" gvcf=0 bgzip=0 parts=()
            while getopts "t:N:o:i:gz" opt; do
              case "$opt" in
                t) threads="$OPTARG" ;;
                N) ref_name="$OPTARG" ;;
                o) base="$OPTARG" ;;
                i) parts+=("$OPTARG") ;;
                g) gvcf=1 ;;
                z) bgzip=1 ;;
                *) echo "gather.sh: bad option" >&2; exit 64 ;;
              esac
            done
            [ -n "$ref_name" ] || { echo "gather.sh: name the reference (-N)" >&2; exit 64; }
            name="$base.vcf" compress=(cat)
            if [ "$gvcf" = 1 ]; then name="$base.g.vcf"; fi
            if [ "$bgzip" = 1 ]; then name="$name.gz" compress=(bgzip -@ "$threads"); fi
            # linked under their order, so concat's header line names parts, not staged paths
            names=()
            for ((i = 0; i < \${#parts[@]}; i++)); do
              names+=("\$(printf 'part-%06d.vcf' \$((i + 1)))")
              ln -sf "\${parts[i]}" "\${names[i]}"
            done
            bcftools concat --threads "$threads" -O v "\${names[@]}" \
              | name_header "$ref_name" | "\${compress[@]}" > "$name"
            if [ "$bgzip" = 1 ]; then bcftools index --tbi "$name"; fi
    ResourceRequirement:
      coresMin: $(inputs.threads)
      ramMin: 512
  hints:
    DockerRequirement:
      dockerPull: quay.io/biocontainers/bcftools:1.16--hfe4b78e_1
    SoftwareRequirement:
      packages:
        bcftools: {version: ["1.16"]}
  baseCommand: [bash, gather.sh]
  inputs:
    parts:
      type:
        type: array
        items: File
        inputBinding: {prefix: -i}
    reference_name: {type: string, inputBinding: {prefix: -N}}
    threads: {type: int, inputBinding: {prefix: -t}}
    base: {type: string, inputBinding: {prefix: -o}}
    gvcf: {type: boolean, inputBinding: {prefix: -g}}
    bgzip: {type: boolean, inputBinding: {prefix: -z}}
  outputs:
    vcf:
      type: File
      secondaryFiles: [{pattern: .tbi, required: false}]
      outputBinding: {glob: ["$(inputs.base).vcf", "$(inputs.base).vcf.gz", "$(inputs.base).g.vcf", "$(inputs.base).g.vcf.gz"]}
    log: {type: stderr}
  stderr: gather.log
- class: CommandLineTool
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
          entry: *name_header
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
- class: CommandLineTool
  id: qc
  label: "QC: samtools stats + flagstat, mosdepth, bcftools stats -> <base>.qc.json + .qc.html"
  doc: |
    Measures the BAM (samtools stats and flagstat; mosdepth over every reference contig) and
    the VCF (bcftools stats), and writes <base>.qc.json (schema urn:genoflow:schema:qc:1),
    a self-contained <base>.qc.html, and the tools' native outputs under the names MultiQC
    looks for (.stats, .flagstat, .mosdepth.summary.txt, .mosdepth.global.dist.txt,
    .bcftools_stats.txt). qc.py is Python 3.10+ with the standard library only; genoflow
    loads the same text (genoflow.qc.tool()). docs/qc.md.
  requirements:
    InitialWorkDirRequirement:
      listing:
        - entryname: qc.py
          entry: |
            """qc.py: a run's QC from the field's own tools, as <base>.qc.json and a self-contained
            <base>.qc.html, beside the tools' native outputs named as MultiQC's modules find them.

            Python 3.10+, standard library only (any engine; a worker with python3, samtools, mosdepth and
            bcftools): the pipeline's #qc step runs this file; genoflow loads the same text as a module
            (genoflow.qc.tool()).

                python3 qc.py --bam B.bam --vcf B.vcf.gz --base B [--threads N]   # run the tools, then parse
                python3 qc.py --parse --base B                                    # parse outputs already there

            Native outputs: B.stats (samtools stats), B.flagstat (samtools flagstat), B.mosdepth.summary.txt
            and B.mosdepth.global.dist.txt (mosdepth), B.bcftools_stats.txt (bcftools stats).
            """

            from __future__ import annotations

            import argparse
            import gzip
            import json
            import os
            import re
            import subprocess
            import sys
            from collections.abc import Iterable, Sequence
            from html import escape
            from typing import Any, NoReturn

            SCHEMA_VERSION = 1
            SCHEMA_ID = "urn:genoflow:schema:qc:1"  # the JSON Schema's $id (genoflow/qc/qc.schema.json)
            WINDOW = 1_000_000  # mosdepth's windows: only to get exact base counts over thresholds
            THRESHOLDS = (1, 10, 20, 30)
            VARIANT_FILTER = ".,PASS"  # bcftools stats -f: records whose FILTER is PASS or missing
            COVERAGE_REGION = "every reference contig in the BAM header (N bases included)"
            SUFFIXES = {
                "samtools_stats": ".stats",
                "flagstat": ".flagstat",
                "mosdepth_summary": ".mosdepth.summary.txt",
                "mosdepth_dist": ".mosdepth.global.dist.txt",
                "bcftools_stats": ".bcftools_stats.txt",
            }


            # --- running the tools ------------------------------------------------------------------------
            def run_tools(bam: str, vcf: str, base: str, threads: int = 1) -> None:
                """The tools' native outputs, written as <base><suffix> in the working directory."""
                t = str(max(threads, 1))
                _run(["samtools", "stats", "-@", t, bam], base + SUFFIXES["samtools_stats"])
                _run(["samtools", "flagstat", "-@", t, bam], base + SUFFIXES["flagstat"])
                # -n: no per-base file (slow, large); windows + thresholds give exact counts per depth
                levels = ",".join(str(level) for level in THRESHOLDS)
                _run(["mosdepth", "-n", "-t", t, "-b", str(WINDOW), "-T", levels, base, bam], None)
                # the calls that pass (or carry no FILTER): low-evidence calls would distort Ti/Tv, het/hom
                _run(
                    ["bcftools", "stats", "-f", VARIANT_FILTER, "-s", "-", vcf],
                    base + SUFFIXES["bcftools_stats"],
                )


            def _run(command: list[str], stdout: str | None) -> None:
                with open(stdout or os.devnull, "w") as handle:
                    done = subprocess.run(command, stdout=handle, stderr=subprocess.PIPE, text=True)
                if done.returncode != 0:
                    what = " ".join(command[:2])
                    raise RuntimeError(f"{what} exited {done.returncode}: {done.stderr[-500:]}")


            def tool_versions() -> dict[str, str]:
                versions = {}
                for tool in ("samtools", "mosdepth", "bcftools"):
                    try:
                        done = subprocess.run([tool, "--version"], capture_output=True)
                        out = done.stdout.decode("utf-8", "replace")  # bcftools prints a Latin-1 sign
                    except OSError:
                        continue
                    words = out.split()
                    versions[tool] = words[1] if len(words) > 1 else "unknown"
                return versions


            # --- parsing ----------------------------------------------------------------------------------
            def sections(lines: Iterable[str]) -> dict[str, list[list[str]]]:
                """Rows of a samtools/bcftools stats file by section (first column); comments skipped."""
                found: dict[str, list[list[str]]] = {}
                for line in lines:
                    if line.startswith("#") or not line.strip():
                        continue
                    fields = line.rstrip("\n").split("\t")
                    found.setdefault(fields[0], []).append(fields[1:])
                return found


            def parse_flagstat(text: str) -> dict[str, int]:
                """samtools flagstat's default text: 'N + M description' (QC-passed + QC-failed)."""
                counts: dict[str, int] = {}
                for line in text.splitlines():
                    match = re.match(r"(\d+) \+ (\d+) (.+?)(?: \(.*)?$", line)
                    if match:
                        counts.setdefault(match.group(3), int(match.group(1)) + int(match.group(2)))
                return counts


            def reads_section(flagstat: dict[str, int]) -> dict[str, Any]:
                """Primary reads: mapped, properly paired and duplicate-marked (counts and rates)."""
                primary = flagstat.get("primary", flagstat.get("in total", 0))
                mapped = flagstat.get("primary mapped", flagstat.get("mapped", 0))
                paired = flagstat.get("paired in sequencing", 0)
                proper = flagstat.get("properly paired", 0)
                duplicates = flagstat.get("primary duplicates", flagstat.get("duplicates", 0))
                return {
                    "total": primary,
                    "mapped": mapped,
                    "mapped_rate": _ratio(mapped, primary),
                    "paired": paired,
                    "properly_paired": proper,
                    "properly_paired_rate": _ratio(proper, paired),
                    "duplicates": duplicates,
                    "duplicate_rate": _ratio(duplicates, mapped),
                }


            def insert_section(stats: dict[str, list[list[str]]]) -> dict[str, Any]:
                """Insert sizes of samtools stats (IS: size, all pairs), with their mean and median."""
                numbers = {row[0].rstrip(":"): row[1] for row in stats.get("SN", [])}
                histogram = [[int(row[0]), int(row[1])] for row in stats.get("IS", []) if int(row[1]) > 0]
                return {
                    "pairs": sum(count for _, count in histogram),
                    "mean": _number(numbers.get("insert size average")),
                    "sd": _number(numbers.get("insert size standard deviation")),
                    "median": _median(histogram),
                    "histogram": histogram,
                }


            def _median(histogram: Sequence[Sequence[int]]) -> int | None:
                total = sum(count for _, count in histogram)
                seen = 0
                for size, count in histogram:
                    seen += count
                    if 2 * seen >= total:
                        return size
                return None


            def coverage_section(base: str) -> dict[str, Any]:
                """Mean (bases / length), median and fractions of bases at >= 10x / 20x over the genome."""
                length, bases = _summary_total(base + SUFFIXES["mosdepth_summary"])
                at_least = _threshold_bases(f"{base}.thresholds.bed.gz")
                distribution = _global_dist(base + SUFFIXES["mosdepth_dist"])
                section: dict[str, Any] = {
                    "region": COVERAGE_REGION,
                    "length": length,
                    "mean": round(bases / length, 4) if length else None,
                    "median": next((d for d, fraction in distribution if fraction >= 0.5), 0),
                    "distribution": sorted(distribution),
                }
                for level in THRESHOLDS:
                    section[f"fraction_ge_{level}x"] = _ratio(at_least.get(level, 0), length)
                return section


            def _summary_total(path: str) -> tuple[int, int]:
                with open(path) as handle:
                    for line in handle:
                        fields = line.split("\t")
                        if fields[0] == "total":
                            return int(fields[1]), int(fields[2])
                raise ValueError(f"{path}: no 'total' row")


            def _threshold_bases(path: str) -> dict[int, int]:
                """Bases at >= each threshold, summed over mosdepth's windows (exact integers)."""
                totals: dict[int, int] = {}
                levels: list[int] = []
                with gzip.open(path, "rt") as handle:
                    for line in handle:
                        fields = line.rstrip("\n").split("\t")
                        if line.startswith("#"):
                            levels = [int(name.rstrip("X")) for name in fields[4:]]
                            continue
                        for level, count in zip(levels, fields[4:], strict=True):
                            totals[level] = totals.get(level, 0) + int(count)
                return totals


            def _global_dist(path: str) -> list[tuple[int, float]]:
                """(depth, fraction of bases at >= depth) of mosdepth's 'total' rows, deepest first."""
                rows = []
                with open(path) as handle:
                    for line in handle:
                        fields = line.split("\t")
                        if fields[0] == "total":
                            rows.append((int(fields[1]), float(fields[2])))
                return sorted(rows, reverse=True)


            def variants_section(stats: dict[str, list[list[str]]]) -> dict[str, Any]:
                """Variant classes, Ti/Tv, het/hom and the SNV spectrum of bcftools stats (first sample)."""
                numbers = {row[1].rstrip(":"): int(row[2]) for row in stats.get("SN", [])}
                lengths = [(int(row[1]), int(row[2])) for row in stats.get("IDD", [])]
                tstv = stats.get("TSTV", [["0", "0", "0"]])[0]
                psc = stats.get("PSC", [])
                psi = stats.get("PSI", [])
                het = int(psc[0][4]) + int(psi[0][6]) + int(psi[0][7]) if psc and psi else None
                hom = int(psc[0][3]) + int(psi[0][8]) + int(psi[0][9]) if psc and psi else None
                return {
                    "filter": VARIANT_FILTER,
                    "records": numbers.get("number of records", 0),
                    "snv": numbers.get("number of SNPs", 0),
                    "insertion": sum(n for length, n in lengths if length > 0),
                    "deletion": sum(n for length, n in lengths if length < 0),
                    "indel": numbers.get("number of indels", 0),
                    "mnv": numbers.get("number of MNPs", 0),
                    "other": numbers.get("number of others", 0),
                    "multiallelic_sites": numbers.get("number of multiallelic sites", 0),
                    "transitions": int(tstv[1]),
                    "transversions": int(tstv[2]),
                    "ti_tv": _ratio(int(tstv[1]), int(tstv[2])),
                    "sample": psc[0][1] if psc else None,
                    "het": het,
                    "hom_alt": hom,
                    "het_hom_ratio": _ratio(het, hom) if het is not None and hom is not None else None,
                    "substitutions": {row[1]: int(row[2]) for row in stats.get("ST", [])},
                }


            def _ratio(part: int | None, whole: int | None) -> float | None:
                return round(part / whole, 6) if part is not None and whole else None


            def _number(text: str | None) -> float | None:
                return float(text) if text not in (None, "") else None


            def summarise(base: str, name: str | None = None) -> dict[str, Any]:
                """The qc.json record of the native outputs <base>.* in the working directory."""
                with open(base + SUFFIXES["samtools_stats"]) as handle:
                    samtools = sections(handle)
                with open(base + SUFFIXES["flagstat"]) as handle:
                    flagstat = parse_flagstat(handle.read())
                with open(base + SUFFIXES["bcftools_stats"]) as handle:
                    bcftools = sections(handle)
                variants = variants_section(bcftools)
                return {
                    "$schema": SCHEMA_ID,
                    "schema_version": SCHEMA_VERSION,
                    "name": name or base,
                    "sample": variants.pop("sample"),
                    "tools": tool_versions(),
                    "reads": reads_section(flagstat),
                    "coverage": coverage_section(base),
                    "insert_size": insert_section(samtools),
                    "variants": variants,
                }


            # --- the HTML page ------------------------------------------------------------------------------
            # Inline SVG and CSS, no script and no external reference: the page opens offline anywhere.
            STYLE = """
            body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1f2933}
            h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}
            table{border-collapse:collapse}td,th{padding:.25rem .75rem;text-align:right;
            border-bottom:1px solid #d9e2ec}th:first-child,td:first-child{text-align:left}
            svg text{font-size:12px;fill:#1f2933}.bar{fill:#2f6f9f}.axis{stroke:#9aa5b1}
            .line{fill:none;stroke:#2f6f9f;stroke-width:2}
            """
            WIDTH, AREA, TOP, BOTTOM, LEFT = 640, 200, 24, 56, 56


            def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
                return (
                    "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                    f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
                    f"<h1>{escape(title)}</h1><p>{escape(subtitle)}</p>"
                    + "\n".join(sections)
                    + "</body></html>\n"
                )


            def fmt(value: object) -> str:
                if isinstance(value, bool) or value is None:
                    return "n/a" if value is None else str(value)
                if isinstance(value, int):
                    return f"{value:,}"
                return f"{value:,.4g}" if isinstance(value, float) else str(value)


            def percent(value: float | None) -> str:
                return "n/a" if value is None else f"{100 * value:.2f}%"


            def table(header: Sequence[str], rows: Sequence[tuple[str, str]]) -> str:
                head = "".join(f"<th>{escape(h)}</th>" for h in header)
                body = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in rows)
                return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


            def bars(labels: Sequence[str], values: Sequence[int], unit: str, chart: str = "") -> str:
                """A bar chart: one bar per label, its value above it, a baseline and the labels below."""
                if not labels:
                    return "<p>(no data)</p>"
                peak = max(max(values), 1)
                step = (WIDTH - LEFT) / len(labels)
                parts = [_svg_open(unit, chart), _baseline()]
                width = min(step * 0.7, 80.0)  # one bar is not the whole chart
                for index, (label, value) in enumerate(zip(labels, values, strict=True)):
                    bar = AREA * value / peak
                    middle = LEFT + (index + 0.5) * step
                    y = TOP + AREA - bar
                    parts += [
                        f"<rect class='bar' x='{middle - width / 2:.1f}' y='{y:.1f}' width='{width:.1f}' "
                        f"height='{bar:.1f}'><title>{escape(label)}: {value:,} {escape(unit)}</title></rect>",
                        f"<text x='{middle:.1f}' y='{y - 4:.1f}' text-anchor='middle'>{value:,}</text>",
                        f"<text x='{middle:.1f}' y='{TOP + AREA + 16}' "
                        f"text-anchor='middle'>{escape(label)}</text>",
                    ]
                return "".join(parts) + "</svg>"


            def line(points: Sequence[tuple[float, float]], x_label: str, y_label: str, chart: str) -> str:
                """A line chart of (x, y) points, both axes from 0, with the axes' extremes labelled."""
                if not points:
                    return "<p>(no data)</p>"
                x_max = max(max(x for x, _ in points), 1.0)
                y_max = max(max(y for _, y in points), 1e-9)
                span = WIDTH - LEFT - 16

                def at(x: float, y: float) -> str:
                    return f"{LEFT + span * x / x_max:.1f},{TOP + AREA - AREA * y / y_max:.1f}"

                path = " ".join(at(x, y) for x, y in points)
                return "".join(
                    [
                        _svg_open(y_label, chart),
                        _baseline(),
                        f"<line class='axis' x1='{LEFT}' y1='{TOP}' x2='{LEFT}' y2='{TOP + AREA}'/>",
                        f"<polyline class='line' points='{path}'/>",
                        f"<text x='{LEFT - 4}' y='{TOP + 4}' text-anchor='end'>{fmt(y_max)}</text>",
                        f"<text x='{LEFT - 4}' y='{TOP + AREA}' text-anchor='end'>0</text>",
                        f"<text x='{LEFT + span / 2:.1f}' y='{TOP + AREA + 16}' text-anchor='middle'>"
                        f"{fmt(x_max / 2)}</text>",
                        f"<text x='{WIDTH - 16}' y='{TOP + AREA + 16}' text-anchor='end'>{fmt(x_max)}</text>",
                        f"<text x='{LEFT + span / 2:.1f}' y='{TOP + AREA + 36}' text-anchor='middle'>"
                        f"{escape(x_label)}</text></svg>",
                    ]
                )


            def _svg_open(label: str, chart: str) -> str:
                height = TOP + AREA + BOTTOM
                named = f" data-chart='{escape(chart)}'" if chart else ""
                return f"<svg width='{WIDTH}' height='{height}' role='img' aria-label='{escape(label)}'{named}>"


            def _baseline() -> str:
                return f"<line class='axis' x1='{LEFT}' y1='{TOP + AREA}' x2='{WIDTH}' y2='{TOP + AREA}'/>"


            CLASS_LABELS = (
                ("snv", "SNV"),
                ("insertion", "insertion"),
                ("deletion", "deletion"),
                ("mnv", "MNV"),
                ("other", "other"),
            )
            CHARTS = ("coverage", "insert-size", "variant-classes", "substitutions")


            def render_html(qc: dict[str, Any]) -> str:
                reads, cov, inserts, var = qc["reads"], qc["coverage"], qc["insert_size"], qc["variants"]
                summary = [
                    ("reads (primary)", fmt(reads["total"])),
                    ("mapped", percent(reads["mapped_rate"])),
                    ("properly paired", percent(reads["properly_paired_rate"])),
                    ("duplicates", percent(reads["duplicate_rate"])),
                    ("mean coverage", fmt(cov["mean"])),
                    ("median coverage", fmt(cov["median"])),
                    ("bases at >= 10x", percent(cov["fraction_ge_10x"])),
                    ("bases at >= 20x", percent(cov["fraction_ge_20x"])),
                    ("insert size (median, bp)", fmt(inserts["median"])),
                    ("variant records (PASS)", fmt(var["records"])),
                    ("Ti/Tv", fmt(var["ti_tv"])),
                    ("het/hom", fmt(var["het_hom_ratio"])),
                ]
                classes = {label: var[key] for key, label in CLASS_LABELS}
                spectrum = var["substitutions"]
                depth = [(float(d), float(f)) for d, f in cov["distribution"]]
                sizes = [(float(s), float(n)) for s, n in inserts["histogram"]]
                sections = [
                    table(["", "value"], summary),
                    f"<h2>Coverage: fraction of bases at &gt;= depth ({escape(cov['region'])})</h2>",
                    line(depth, "depth", "fraction of bases", CHARTS[0]),
                    "<h2>Insert sizes</h2>",
                    line(sizes, "insert size (bp)", "pairs", CHARTS[1]),
                    "<h2>Variants by class (PASS or no FILTER)</h2>",
                    bars(list(classes), list(classes.values()), "variants", CHARTS[2]),
                    "<h2>SNV substitution spectrum (REF&gt;ALT)</h2>",
                    bars(list(spectrum), list(spectrum.values()), "SNVs", CHARTS[3]),
                ]
                tools = ", ".join(f"{tool} {version}" for tool, version in sorted(qc["tools"].items()))
                return page(f"QC: {qc['name']}", f"sample {qc['sample'] or 'n/a'}; {tools}", sections)


            # --- command line -----------------------------------------------------------------------------
            class _Parser(argparse.ArgumentParser):
                """Bad arguments: one line on stderr, exit 2 (no usage block, no traceback)."""

                def error(self, message: str) -> NoReturn:
                    self.exit(2, f"{self.prog}: {message} (--help for usage)\n")


            def options(argv: Sequence[str]) -> argparse.Namespace:
                parser = _Parser(prog="qc.py", description="A run's QC as <base>.qc.json and <base>.qc.html.")
                parser.add_argument("--bam", help="the aligned reads (indexed)")
                parser.add_argument("--vcf", help="the calls")
                parser.add_argument("--base", default="sample", help="output names' prefix (default: sample)")
                parser.add_argument("--threads", type=int, default=1, help="samtools threads (default: 1)")
                parser.add_argument("--name", help="the run's name in the record (default: the base)")
                parser.add_argument("--parse", action="store_true", help="parse the outputs already there")
                given = parser.parse_args(list(argv))
                if not given.parse and not (given.bam and given.vcf):
                    parser.error("--bam and --vcf are required (or --parse, to read outputs already there)")
                return given


            def main(argv: Sequence[str]) -> int:
                given = options(argv)
                base = given.base or "sample"
                if not given.parse:
                    run_tools(given.bam, given.vcf, base, given.threads or 1)
                qc = summarise(base, given.name)
                with open(f"{base}.qc.json", "w") as handle:
                    json.dump(qc, handle, indent=1)
                    handle.write("\n")
                with open(f"{base}.qc.html", "w") as handle:
                    handle.write(render_html(qc))
                return 0


            if __name__ == "__main__":
                sys.exit(main(sys.argv[1:]))
    ResourceRequirement:
      coresMin: $(inputs.threads)
      ramMin: 2048
  hints:
    SoftwareRequirement:
      packages:
        samtools: {version: ["1.16"]}
        mosdepth: {version: ["0.3.3"]}
        bcftools: {version: ["1.16"]}
  baseCommand: [python3, qc.py]
  inputs:
    bam: {type: File, secondaryFiles: [.bai], inputBinding: {prefix: --bam}}
    vcf: {type: File, inputBinding: {prefix: --vcf}}
    threads: {type: int, inputBinding: {prefix: --threads}}
    base: {type: string, inputBinding: {prefix: --base}}
  outputs:
    files:
      type: File[]
      outputBinding:
        glob:
          - $(inputs.base).qc.json
          - $(inputs.base).qc.html
          - $(inputs.base).bcftools_stats.txt
          - $(inputs.base).mosdepth.global.dist.txt
          - $(inputs.base).mosdepth.summary.txt
          - $(inputs.base).flagstat
          - $(inputs.base).stats
    log:
      type: stderr
  stderr: qc.log
