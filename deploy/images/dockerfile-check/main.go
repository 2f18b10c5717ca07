// Command dockerfile-check checks Dockerfiles without a container runtime, with BuildKit's own Dockerfile frontend:
// the lint rules `docker build --check` applies (plus the experimental InvalidDefinitionDescription), that the file
// parses and every stage it builds resolves, that each named target exists, and that every COPY --from and
// RUN --mount from= names a stage of the file or a tagged or digested image. Base images are not pulled: the
// checker answers for them with an empty linux image, so variables a base image defines are unknown to UndefinedVar.
//
//	dockerfile-check FILE [--target NAME]... [FILE [--target NAME]...]...
//
// Prints one line per problem, `file:line: Rule: message`, and exits 1 if there is any (2 on a usage error).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

type dockerfile struct {
	path    string
	targets []string
}

type problem struct {
	line    int
	rule    string
	message string
}

func main() {
	files, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "dockerfile-check: %v\nusage: dockerfile-check FILE [--target NAME]... [FILE [--target NAME]...]...\n", err)
		os.Exit(2)
	}
	failed := false
	for _, f := range files {
		problems, err := check(f)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dockerfile-check: %s: %v\n", f.path, err)
			os.Exit(2)
		}
		for _, p := range problems {
			fmt.Printf("%s:%d: %s: %s\n", f.path, p.line, p.rule, p.message)
		}
		failed = failed || len(problems) > 0
	}
	if failed {
		os.Exit(1)
	}
}

// parseArgs reads files, each followed by the targets to check it with.
func parseArgs(args []string) ([]dockerfile, error) {
	var files []dockerfile
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, inline := strings.CutPrefix(arg, "--target=")
		switch {
		case arg == "--target" || inline:
			if !inline {
				i++
				if i == len(args) {
					return nil, fmt.Errorf("--target needs a name")
				}
				name = args[i]
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("--target %s comes before any Dockerfile", name)
			}
			files[len(files)-1].targets = append(files[len(files)-1].targets, name)
		case strings.HasPrefix(arg, "-"):
			return nil, fmt.Errorf("unknown flag %s", arg)
		default:
			files = append(files, dockerfile{path: arg})
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Dockerfile given")
	}
	return files, nil
}

func check(f dockerfile) ([]problem, error) {
	dt, err := os.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	var problems []problem
	seen := map[problem]bool{}
	add := func(p problem) {
		if !seen[p] {
			seen[p] = true
			problems = append(problems, p)
		}
	}

	ast, err := parser.Parse(strings.NewReader(string(dt)))
	if err != nil {
		return []problem{{line: errorLine(err), rule: "ParseError", message: err.Error()}}, nil
	}
	stages, _, err := instructions.Parse(ast.AST, experimentalLinter(dt, add))
	if err != nil {
		return append(problems, problem{line: errorLine(err), rule: "ParseError", message: err.Error()}), nil
	}
	for _, p := range stageReferences(stages) {
		add(p)
	}

	// As `docker build --check`: no target lints every stage; a target also proves it and what it builds resolve.
	runs := []string{""}
	for _, target := range f.targets {
		if slices.ContainsFunc(stages, func(s instructions.Stage) bool { return strings.EqualFold(s.Name, target) }) {
			runs = append(runs, target)
		} else {
			add(problem{rule: "UndefinedTarget", message: fmt.Sprintf("no stage is named %q (stages: %s)", target, stageNames(stages))})
		}
	}
	for _, target := range runs {
		source := llb.NewSourceMap(nil, f.path, "Dockerfile", dt)
		source.Definition = &llb.Definition{} // the lint results carry the source; there is no build context to define
		results, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
			Config:       dockerui.Config{Target: target},
			SourceMap:    source,
			MetaResolver: offlineResolver{},
		})
		if err != nil {
			return nil, err
		}
		for _, w := range results.Warnings {
			add(problem{line: firstLine(w.Location), rule: w.RuleName, message: w.Detail})
		}
		if results.Error != nil {
			add(problem{line: firstLine(&results.Error.Location), rule: "BuildError", message: results.Error.Message})
		}
	}
	slices.SortStableFunc(problems, func(a, b problem) int { return a.line - b.line })
	return problems, nil
}

// experimentalLinter runs the experimental rules that need no build context (InvalidDefinitionDescription), unless
// the file's own `# check=` directive skips them; DockerfileLint runs every other rule.
func experimentalLinter(dt []byte, add func(problem)) *linter.Linter {
	directive, _, _, _ := parser.ParseDirective("check", dt)
	config, err := linter.ParseLintOptions(directive)
	if err != nil || config.SkipAll || slices.Contains(config.SkipRules, linter.RuleInvalidDefinitionDescription.Name) {
		return nil
	}
	return linter.New(&linter.Config{
		SkipAll:           true,
		ExperimentalRules: []string{linter.RuleInvalidDefinitionDescription.Name},
		Warn: func(rule, _, _, message string, location []parser.Range) {
			line := 0
			if len(location) > 0 {
				line = location[0].Start.Line
			}
			add(problem{line: line, rule: rule, message: message})
		},
	})
}

// stageReferences reports a COPY --from or RUN --mount from= that names no stage of the file and no pinned image:
// BuildKit would try to pull a misspelt stage name from Docker Hub.
func stageReferences(stages []instructions.Stage) []problem {
	var problems []problem
	known := func(name string) bool {
		if _, err := strconv.Atoi(name); err == nil {
			return true
		}
		if slices.ContainsFunc(stages, func(s instructions.Stage) bool { return strings.EqualFold(s.Name, name) }) {
			return true
		}
		ref, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return false
		}
		_, tagged := ref.(reference.Tagged)
		_, digested := ref.(reference.Digested)
		return tagged || digested
	}
	report := func(cmd instructions.Command, flag, name string) {
		if name == "" || strings.Contains(name, "$") || known(name) {
			return
		}
		line := 0
		if loc := cmd.Location(); len(loc) > 0 {
			line = loc[0].Start.Line
		}
		problems = append(problems, problem{line: line, rule: "UndefinedStage", message: fmt.Sprintf(
			"%s=%s is neither a stage of this Dockerfile (%s) nor an image with a tag or digest", flag, name, stageNames(stages))})
	}
	for _, stage := range stages {
		for _, cmd := range stage.Commands {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				report(c, "COPY --from", c.From)
			case *instructions.RunCommand:
				for _, mount := range instructions.GetMounts(c) {
					report(c, "RUN --mount from", mount.From)
				}
			}
		}
	}
	return problems
}

func stageNames(stages []instructions.Stage) string {
	var names []string
	for _, s := range stages {
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return "no named stages"
	}
	return strings.Join(names, ", ")
}

func firstLine(location *pb.Location) int {
	if location == nil || len(location.Ranges) == 0 {
		return 0
	}
	return int(location.Ranges[0].Start.Line)
}

func errorLine(err error) int {
	var located *parser.LocationError
	if errors.As(err, &located) {
		for _, ranges := range located.Locations {
			if len(ranges) > 0 {
				return ranges[0].Start.Line
			}
		}
	}
	return 0
}

// offlineResolver stands in for a registry: every base image is an empty, non-scratch linux image of the requested
// platform, with only the default PATH.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	platform := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		platform = *opt.ImageOpt.Platform
	}
	var img dockerspec.DockerOCIImage
	img.Platform = platform
	img.RootFS = ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(ref)}}
	img.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	dt, err := json.Marshal(img)
	return ref, "", dt, err
}
