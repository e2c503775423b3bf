// make_sif writes SIF files with sylabs' own SIF library (Debian's golang-github-sylabs-sif-dev),
// laid out the way Apptainer's SIF assembler writes them: a definition-file object, a JSON labels
// object, then the primary system partition. The test suite uses it to make its SIF images, so that
// cexec's reader is checked against the reference writer rather than against itself.
//
// Usage: make_sif -out FILE -partition IMAGE [-fs squashfs|ext3|encrypted] [-arch amd64]
//
//	[-deffile FILE] [-labels FILE]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/sylabs/sif/v2/pkg/sif"
)

func fsType(name string) (sif.FSType, error) {
	switch name {
	case "squashfs":
		return sif.FsSquash, nil
	case "ext3":
		return sif.FsExt3, nil
	case "encrypted":
		return sif.FsEncryptedSquashfs, nil
	}
	return 0, fmt.Errorf("unknown -fs %q", name)
}

func run() error {
	out := flag.String("out", "", "SIF file to write")
	partition := flag.String("partition", "", "file system image for the primary partition")
	fs := flag.String("fs", "squashfs", "partition type: squashfs, ext3 or encrypted")
	arch := flag.String("arch", "amd64", "architecture (Go name)")
	deffile := flag.String("deffile", "", "definition file to store")
	labels := flag.String("labels", "", "JSON labels to store")
	flag.Parse()
	if *out == "" || *partition == "" {
		return fmt.Errorf("-out and -partition are required")
	}
	var inputs []sif.DescriptorInput
	for _, obj := range []struct {
		path string
		kind sif.DataType
	}{{*deffile, sif.DataDeffile}, {*labels, sif.DataLabels}} {
		if obj.path == "" {
			continue
		}
		data, err := os.ReadFile(obj.path)
		if err != nil {
			return err
		}
		in, err := sif.NewDescriptorInput(obj.kind, bytes.NewReader(data))
		if err != nil {
			return err
		}
		inputs = append(inputs, in)
	}
	t, err := fsType(*fs)
	if err != nil {
		return err
	}
	part, err := os.Open(*partition)
	if err != nil {
		return err
	}
	defer part.Close()
	in, err := sif.NewDescriptorInput(sif.DataPartition, part, sif.OptPartitionMetadata(t, sif.PartPrimSys, *arch))
	if err != nil {
		return err
	}
	inputs = append(inputs, in)
	f, err := sif.CreateContainerAtPath(*out, sif.OptCreateWithDescriptors(inputs...),
		sif.OptCreateWithLaunchScript("#!/usr/bin/env run-singularity\n"))
	if err != nil {
		return err
	}
	return f.UnloadContainer()
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make_sif:", err)
		os.Exit(1)
	}
}
