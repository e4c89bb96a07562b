package repos

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"kforge/datasets"
)

// The argument conventions of classic CK examples, as data: each row says
// how to recognise a program that takes its problem size one way, and how
// to spell sizes in it. The first row whose marker the program's code
// carries is used; a row without a marker is tried on every program.

// ckSizeInput is what a convention reads.
type ckSizeInput struct {
	all     string            // the program's blanked code, every file joined
	layouts []string          // "ALayout=RowMajor", … of the instance
	params  map[string]string // the instance's resolved template arguments
}

// ckConvention is one way a classic example takes its problem size.
type ckConvention struct {
	Name   string
	Marker *regexp.Regexp // the program uses the convention when its code matches
	Sizes  func(in ckSizeInput) (sizes []datasets.Size, notes []string, why string)
}

var ckConventions = []ckConvention{
	{"conv-param", regexp.MustCompile(`\bparse_conv_param\s*\(`), convSizes},
	{"mnk-argv", regexp.MustCompile(`\bargc\s*==\s*\d+\s*\)`), mnkSizes},
}

// ckSizes derives problem sizes from the first convention the program uses.
func ckSizes(in ckSizeInput) ([]datasets.Size, []string, string) {
	why := "no argument convention recognised"
	for _, c := range ckConventions {
		if c.Marker != nil && !c.Marker.MatchString(in.all) {
			continue
		}
		sizes, notes, w := c.Sizes(in)
		if w == "" {
			return sizes, notes, ""
		}
		why = c.Name + ": " + w
	}
	return nil, nil, why
}

// convParamRe matches a literal ConvParam initializer: ndim, G, N, K, C and
// six lists of ndim numbers (filter, input, strides, dilations, left and
// right pads), in the order parse_conv_param reads them from argv.
var convParamRe = func() *regexp.Regexp {
	n := `\s*(\d+)\s*,`
	l := `\s*\{([\d\s,]+)\}\s*`
	return regexp.MustCompile(`\{` + n + n + n + n + n + l + `,` + l + `,` + l + `,` + l + `,` + l + `,` + l + `\}`)
}()

// convParam is a convolution problem in parse_conv_param's argv order.
type convParam struct {
	NDim, G, N, K, C int64
	Lists            [6][]int64 // filter, input, strides, dilations, left pads, right pads
}

func (c convParam) args() []string {
	out := []string{"1", "2", "1"}
	for _, x := range []int64{c.NDim, c.G, c.N, c.K, c.C} {
		out = append(out, strconv.FormatInt(x, 10))
	}
	for _, l := range c.Lists {
		for _, x := range l {
			out = append(out, strconv.FormatInt(x, 10))
		}
	}
	return out
}

func (c convParam) dims() map[string]int64 {
	d := map[string]int64{"NDim": c.NDim, "G": c.G, "N": c.N, "K": c.K, "C": c.C}
	axes := "XYZ"
	for i, x := range c.Lists[1] {
		if i < len(axes) {
			d["In"+axes[len(c.Lists[1])-1-i:len(c.Lists[1])-i]] = x
		}
	}
	for i, x := range c.Lists[0] {
		if i < len(axes) {
			d["Filter"+axes[len(c.Lists[0])-1-i:len(c.Lists[0])-i]] = x
		}
	}
	return d
}

func (c convParam) clone() convParam {
	out := c
	for i := range c.Lists {
		out.Lists[i] = append([]int64(nil), c.Lists[i]...)
	}
	return out
}

// parseConvParam reads the program's default ConvParam initializer.
func parseConvParam(all string) (convParam, bool) {
	code := strings.ReplaceAll(all, "\\\n", " ") // a default spelt in a macro
	m := convParamRe.FindStringSubmatch(code)
	if m == nil {
		return convParam{}, false
	}
	var c convParam
	for i, p := range []*int64{&c.NDim, &c.G, &c.N, &c.K, &c.C} {
		*p, _ = strconv.ParseInt(m[1+i], 10, 64)
	}
	for i := range 6 {
		for _, f := range strings.Split(m[6+i], ",") {
			x, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return convParam{}, false
			}
			c.Lists[i] = append(c.Lists[i], x)
		}
		if int64(len(c.Lists[i])) != c.NDim {
			return convParam{}, false
		}
	}
	return c, c.NDim >= 1 && c.NDim <= 3
}

// convSizes: `exe verify init time NDim G N K C <filter> <input> <strides>
// <dilations> <left pads> <right pads>`, parsed by ck::utils::conv::
// parse_conv_param. The example's default is spelt out in full; the
// generated sizes double the batch N and the group count G (every GEMM
// dimension the instance tiles stays a multiple of what it was) and
// shrink the input by two pixels per spatial axis (a tail of the output).
func convSizes(in ckSizeInput) ([]datasets.Size, []string, string) {
	def, ok := parseConvParam(in.all)
	if !ok {
		return nil, nil, "no literal default ConvParam {NDim, G, N, K, C, {filter}, {input}, {strides}, {dilations}, {pads}, {pads}} found"
	}
	mk := func(name, origin string, c convParam, hidden bool) datasets.Size {
		return datasets.Size{Name: name, Args: c.args(), Dims: c.dims(), Origin: origin, Hidden: hidden}
	}
	sizes := []datasets.Size{mk("default", "example_default", def, false)}
	n2 := def.clone()
	n2.N *= 2
	sizes = append(sizes, mk(fmt.Sprintf("n%d", n2.N), "generated", n2, true))
	g2 := def.clone()
	g2.G *= 2
	sizes = append(sizes, mk(fmt.Sprintf("g%d", g2.G), "generated", g2, false))
	tail := def.clone()
	shrunk := true
	for i, x := range tail.Lists[1] {
		f := tail.Lists[0][i]
		if x-2 < f {
			shrunk = false
		}
		tail.Lists[1][i] = x - 2
	}
	var notes []string
	if shrunk {
		sizes = append(sizes, mk("tail_input-2", "generated_tail", tail, false))
	} else {
		notes = append(notes, "no tail size: the input is too small to shrink below the filter")
	}
	return sizes, notes, ""
}
