package parquet

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"kforge/datasets"
)

// layout is what the writer knows of one config: its columns in order, and
// the Parquet paths of the string columns it stores plain. The table is the
// writer's own; nothing else is asked for it by config name.
type layout struct {
	// fields are the columns without optional ones.
	fields []arrow.Field
	// verl are verl's columns, appended when SchemaOptions.Verl (rl only).
	verl []arrow.Field
	// plain are the Parquet column paths whose values are nearly all
	// distinct (ids, code, conversations): dictionary encoding only costs
	// time there, so they are stored plain, and kept by reference in the
	// writer's batches.
	plain []string
}

var (
	messageType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "role", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "content", Type: arrow.BinaryTypes.String},
	))
	// sftMessageType is messageType with the assistant's reasoning
	// (null on other messages and where the model gave none).
	sftMessageType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "role", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "content", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "reasoning_content", Type: arrow.BinaryTypes.String, Nullable: true},
	))
	stringList      = arrow.ListOf(arrow.BinaryTypes.String)
	rewardModelType = arrow.StructOf(
		arrow.Field{Name: "style", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "ground_truth", Type: arrow.BinaryTypes.String},
	)
	extraInfoType = arrow.StructOf(
		arrow.Field{Name: "split", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "index", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "task_id", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "op", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "best_speedup", Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: "reference_solution", Type: arrow.BinaryTypes.String},
	)
	turnListType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "round", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "variant_id", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "status", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "speedup", Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: "reason", Type: arrow.BinaryTypes.String},
	))
	baselineListType = arrow.ListOf(arrow.StructOf(
		arrow.Field{Name: "device", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "arch", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "toolchain", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "reference_ms", Type: arrow.PrimitiveTypes.Float64},
	))
)

func str(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String}
}
func nstr(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
}
func nf64(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
}
func ni32(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32, Nullable: true}
}

// layouts are the four configs' columns, in the order appendRow writes a
// record's values.
var layouts = map[string]layout{
	datasets.ConfigSFT: {
		fields: []arrow.Field{
			str("id"), {Name: "messages", Type: sftMessageType},
			{Name: "prompt", Type: sftMessageType}, {Name: "completion", Type: sftMessageType}, nstr("reasoning"),
			nstr("task_id"), nstr("source_repo"), nstr("source_commit"), nstr("source_path"), nstr("license"),
			nstr("kind"), nstr("op"), nstr("dtype"), nstr("arch"), nstr("device"), nstr("toolchain"),
			nf64("baseline_ms"), nf64("candidate_ms"), nf64("speedup"),
			ni32("vgprs"), ni32("sgprs"), ni32("lds_bytes"), ni32("scratch_bytes"), ni32("occupancy"),
			nstr("model"), nstr("prompt_version"),
			{Name: "num_turns", Type: arrow.PrimitiveTypes.Int32},
			{Name: "is_replay", Type: arrow.FixedWidthTypes.Boolean},
			nstr("replay_source"),
		},
		plain: []string{"id", "messages.list.element.content", "messages.list.element.reasoning_content",
			"prompt.list.element.content", "completion.list.element.content", "completion.list.element.reasoning_content", "reasoning"},
	},
	datasets.ConfigRL: {
		fields: []arrow.Field{
			str("id"), {Name: "prompt", Type: messageType}, str("task_id"), str("kind"), str("op"),
			{Name: "dtypes", Type: stringList}, {Name: "archs", Type: stringList},
			str("source_repo"), str("source_commit"), str("source_path"), str("license"),
			str("task_spec"), str("region_kind"), {Name: "region_rules", Type: stringList},
			str("build_recipe"), str("run_recipe"), str("sizes"), nf64("rtol"), nf64("atol"),
			{Name: "baselines", Type: baselineListType},
			{Name: "best_speedup", Type: arrow.PrimitiveTypes.Float64},
			str("reference_solution"), {Name: "num_kept", Type: arrow.PrimitiveTypes.Int32},
		},
		verl: []arrow.Field{str("data_source"), str("ability"),
			{Name: "reward_model", Type: rewardModelType}, {Name: "extra_info", Type: extraInfoType}},
		plain: []string{"id", "task_id", "prompt.list.element.content", "task_spec", "reference_solution", "sizes",
			"reward_model.ground_truth", "extra_info.reference_solution"},
	},
	datasets.ConfigPairs: {
		fields: []arrow.Field{
			str("id"), str("task_id"), str("op"), str("arch"),
			{Name: "prompt", Type: messageType}, {Name: "chosen", Type: messageType}, {Name: "rejected", Type: messageType},
			str("chosen_id"), str("rejected_id"),
			{Name: "chosen_speedup", Type: arrow.PrimitiveTypes.Float64}, nf64("rejected_speedup"),
			str("rejected_status"), str("rejected_reason"), str("model"),
		},
		plain: []string{"id", "prompt.list.element.content", "chosen.list.element.content", "rejected.list.element.content",
			"chosen_id", "rejected_id"},
	},
	datasets.ConfigMultiturn: {
		fields: []arrow.Field{
			str("id"), str("task_id"), str("op"), str("arch"),
			{Name: "messages", Type: messageType}, {Name: "num_turns", Type: arrow.PrimitiveTypes.Int32},
			{Name: "turns", Type: turnListType},
			{Name: "final_speedup", Type: arrow.PrimitiveTypes.Float64}, str("model"),
		},
		plain: []string{"id", "messages.list.element.content", "turns.list.element.variant_id"},
	},
}

// SchemaOptions are the optional column sets of a release.
type SchemaOptions struct {
	// Verl adds verl's columns to rl: data_source, ability, reward_model,
	// extra_info.
	Verl bool
}

// Schema returns the Arrow schema of a config (datasets.ConfigSFT, …)
// without optional columns, with the Hugging Face features in its
// "huggingface" metadata so `datasets` restores the exact types; nil for an
// unknown config.
func Schema(config string) *arrow.Schema { return SchemaWith(config, SchemaOptions{}) }

// SchemaWith is Schema with the optional columns opt asks for.
func SchemaWith(config string, opt SchemaOptions) *arrow.Schema {
	l, ok := layouts[config]
	if !ok {
		return nil
	}
	fields := slices.Clone(l.fields)
	if opt.Verl {
		fields = append(fields, l.verl...)
	}
	s := arrow.NewSchema(fields, nil)
	md := arrow.NewMetadata([]string{"huggingface"}, []string{HFFeaturesJSON(s)})
	return arrow.NewSchema(fields, &md)
}

// PlainColumns are the Parquet column paths of a config whose values are
// nearly all distinct (ids, code, conversations): dictionary encoding only
// costs time there, so the writer stores them plain.
func PlainColumns(config string) []string { return slices.Clone(layouts[config].plain) }

// StringStorage says how a writer's batches should hold each string column
// of a config: PlainColumns by reference (wide, nearly all distinct), the
// rest dictionary-encoded. For NewColumns.
func StringStorage(config string) func(path string) Storage {
	plain := layouts[config].plain
	return func(path string) Storage {
		if slices.Contains(plain, path) {
			return Referenced
		}
		return Dictionary
	}
}
