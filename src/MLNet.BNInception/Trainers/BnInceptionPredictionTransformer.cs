using System.Text.Json.Nodes;
using MLNet.BNInception.Data;
using MLNet.BNInception.Inference;
using MLNet.BNInception.Models;
using MLNet.BNInception.Torch;
using MLNet.BNInception.Training;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// A trained BN-Inception as a pipeline step (ML.NET's <c>MulticlassPredictionTransformer</c>): appends
/// <c>Score</c> (softmax probabilities, one per class) and <c>PredictedLabel</c> (the most probable
/// class as a key; ties go to the lower class). Rows are scored in batches of
/// <see cref="ScoringBatchSize"/>, BN folded into the convolutions. Owns native weights: dispose it
/// (or the chain holding it) when done.
/// </summary>
public sealed class BnInceptionPredictionTransformer : IPersistentTransformer, ISummarizedStep, IDisposable
{
    internal const string KindName = "BnInception";
    private const string WeightsEntry = "weights.pt";
    private readonly BnInceptionScorer _scorer;

    /// <summary>Wraps <paramref name="model"/>, which it then owns and disposes.</summary>
    internal BnInceptionPredictionTransformer(BnInception model, IReadOnlyList<string> classNames, string labelColumnName, string featureColumnName,
        int scoringBatchSize, bool foldBatchNorm, IReadOnlyList<EpochMetrics>? history)
    {
        if (classNames.Count != model.Options.NumClasses)
        {
            throw new ArgumentException($"{classNames.Count} class names for {model.Options.NumClasses} classes", nameof(classNames));
        }

        // The transformer takes the trained network over rather than copying its weights.
        Model = model;
        Model.eval();
        ClassNames = [.. classNames];
        LabelColumnName = labelColumnName;
        FeatureColumnName = featureColumnName;
        ScoringBatchSize = scoringBatchSize;
        FoldBatchNorm = foldBatchNorm;
        History = history ?? [];
        _scorer = new BnInceptionScorer(Model, foldBatchNorm, scoringBatchSize);
    }

    /// <summary>The trained network (eval mode; its weights belong to this transformer).</summary>
    public BnInception Model { get; }

    /// <summary>The class each output stands for, in key order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label column the model was trained on (not needed for scoring).</summary>
    public string LabelColumnName { get; }

    /// <summary>The pixel vector column read.</summary>
    public string FeatureColumnName { get; }

    /// <summary>Images per forward pass.</summary>
    public int ScoringBatchSize { get; }

    /// <summary>True when BN is folded for scoring.</summary>
    public bool FoldBatchNorm { get; }

    /// <summary>Loss and accuracy per epoch of the training run (empty for a loaded model).</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>The score column's name.</summary>
    public const string ScoreColumnName = "Score";

    /// <summary>The predicted label column's name.</summary>
    public const string PredictedLabelColumnName = "PredictedLabel";

    string IPersistentTransformer.Kind => KindName;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Transform(new EmptyDataView(inputSchema)).Schema;

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        FeatureShape shape = FeatureShape.Check(input.Schema, FeatureColumnName);
        BnInceptionOptions options = Model.Options;
        if (shape.Channels != options.InputChannels || shape.Size != options.InputSize)
        {
            throw new ArgumentException($"column '{FeatureColumnName}' holds {shape} pixels; the model was trained on {options.InputChannels}×{options.InputSize}×{options.InputSize}");
        }

        return new ScoredDataView(this, input, shape);
    }

    /// <summary>Probabilities for <paramref name="count"/> images stored one after another in <paramref name="pixels"/>.</summary>
    internal float[] Score(float[] pixels, int count, FeatureShape shape)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor images = torch.tensor(pixels, count, shape.Channels, shape.Size, shape.Size);
        return _scorer.Probabilities(images).ToArray<float>();
    }

    JsonObject IPersistentTransformer.Save(ModelSaveContext context)
    {
        string weights = context.WriteEntry(WeightsEntry, stream => torch.save(Model.state_dict(), stream));
        BnInceptionOptions options = Model.Options;
        return new JsonObject
        {
            ["labelColumnName"] = LabelColumnName,
            ["featureColumnName"] = FeatureColumnName,
            ["classNames"] = new JsonArray([.. ClassNames.Select(name => JsonValue.Create(name))]),
            ["scoringBatchSize"] = ScoringBatchSize,
            ["foldBatchNorm"] = FoldBatchNorm,
            ["architecture"] = System.Text.Json.JsonSerializer.SerializeToNode(options, ModelFormat.JsonOptions),
            ["weights"] = weights,
        };
    }

    void ISummarizedStep.AddSummary(JsonObject manifest)
    {
        manifest["classLabels"] = new JsonArray([.. ClassNames.Select(name => JsonValue.Create(name))]);
        manifest["inputSize"] = Model.Options.InputSize;
        manifest["inputChannels"] = Model.Options.InputChannels;
    }

    internal static BnInceptionPredictionTransformer Load(JsonObject settings, ModelLoadContext context)
    {
        BnInceptionOptions options = context.Deserialize<BnInceptionOptions>(settings, "architecture");
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw context.Corrupt($"the architecture is invalid: {e.Message}");
        }

        using DisposeScope scope = torch.NewDisposeScope();
        var model = new BnInception(options);
        try
        {
            return LoadWeights(model, settings, context);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static BnInceptionPredictionTransformer LoadWeights(BnInception model, JsonObject settings, ModelLoadContext context)
    {
        IReadOnlyList<KeyValuePair<string, Tensor>> weights = context.ReadEntry(context.String(settings, "weights"), stream =>
        {
            try
            {
                return torch.load(stream);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or NotSupportedException)
            {
                throw context.Corrupt($"the weights do not read: {e.Message}");
            }
        });
        try
        {
            model.load_state_dict(weights);
        }
        catch (ArgumentException e)
        {
            throw context.Corrupt($"the weights do not fit the architecture: {e.Message}");
        }

        return new BnInceptionPredictionTransformer(model, context.Strings(settings, "classNames"), context.String(settings, "labelColumnName"),
            context.String(settings, "featureColumnName"), context.Int(settings, "scoringBatchSize"), context.Bool(settings, "foldBatchNorm"), null);
    }

    /// <summary>Frees the native weights.</summary>
    public void Dispose()
    {
        _scorer.Dispose();
        Model.Dispose();
    }

    /// <summary>The input's columns plus Score and PredictedLabel, scored a batch at a time.</summary>
    private sealed class ScoredDataView : IDataView
    {
        private readonly BnInceptionPredictionTransformer _parent;
        private readonly IDataView _source;
        private readonly FeatureShape _shape;

        public ScoredDataView(BnInceptionPredictionTransformer parent, IDataView source, FeatureShape shape)
        {
            _parent = parent;
            _source = source;
            _shape = shape;
            int classes = parent.ClassNames.Count;
            Schema = source.Schema.With(
                (ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, classes), null),
                (PredictedLabelColumnName, new KeyDataViewType(typeof(uint), (ulong)classes), parent.ClassNames));
        }

        public DataViewSchema Schema { get; }

        public bool CanShuffle => false;

        public long? GetRowCount() => _source.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var needed = columnsNeeded.Select(column => column.Name).ToHashSet(StringComparer.Ordinal);
            bool scoring = needed.Contains(ScoreColumnName) || needed.Contains(PredictedLabelColumnName);
            var sourceNames = needed.Where(name => name is not (ScoreColumnName or PredictedLabelColumnName)).ToHashSet(StringComparer.Ordinal);
            if (scoring)
            {
                sourceNames.Add(_parent.FeatureColumnName);
            }

            DataViewRowCursor source = _source.GetRowCursor(sourceNames.Select(name => _source.Schema[name]));
            return new Cursor(this, source, needed, scoring);
        }

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly ScoredDataView _view;
            private readonly DataViewRowCursor _source;
            private readonly HashSet<string> _active;
            private readonly bool _scoring;
            private readonly string[] _bufferedNames;
            private readonly Func<object?>[] _bufferedGetters;
            private readonly List<object?[]> _rows = [];
            private readonly List<long> _positions = [];
            private readonly ValueGetter<VBuffer<float>>? _features;
            private float[] _probabilities = [];
            private int _index = -1;
            private bool _sourceDone;

            public Cursor(ScoredDataView view, DataViewRowCursor source, HashSet<string> active, bool scoring)
            {
                _view = view;
                _source = source;
                _active = active;
                _scoring = scoring;
                _bufferedNames = [.. active.Where(name => name is not (ScoreColumnName or PredictedLabelColumnName))];
                _bufferedGetters = scoring ? [.. _bufferedNames.Select(name => RowValues.BoxedGetter(source, source.Schema[name]))] : [];
                _features = scoring ? source.GetGetter<VBuffer<float>>(source.Schema[view._parent.FeatureColumnName]) : null;
            }

            public override DataViewSchema Schema => _view.Schema;

            public override long Position => _scoring ? (_index >= 0 && _index < _positions.Count ? _positions[_index] : -1) : _source.Position;

            public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Name);

            public override bool MoveNext()
            {
                if (!_scoring)
                {
                    return _source.MoveNext();
                }

                _index++;
                if (_index < _rows.Count)
                {
                    return true;
                }

                return !_sourceDone && FillBatch();
            }

            /// <summary>Reads up to a batch of rows, keeping their values, and scores them in one forward pass.</summary>
            private bool FillBatch()
            {
                _rows.Clear();
                _positions.Clear();
                _index = 0;
                FeatureShape shape = _view._shape;
                int batch = _view._parent.ScoringBatchSize;
                var pixels = new float[batch * shape.Length];
                while (_rows.Count < batch)
                {
                    if (!_source.MoveNext())
                    {
                        _sourceDone = true;
                        break;
                    }

                    VBuffer<float> features = default;
                    _features!(ref features);
                    if (features.Length != shape.Length)
                    {
                        throw new InvalidDataException($"row {_source.Position}: '{_view._parent.FeatureColumnName}' has {features.Length} values, expected {shape.Length}");
                    }

                    features.GetValues().CopyTo(pixels.AsSpan(_rows.Count * shape.Length, shape.Length));
                    _rows.Add([.. _bufferedGetters.Select(getter => getter())]);
                    _positions.Add(_source.Position);
                }

                if (_rows.Count == 0)
                {
                    return false;
                }

                _probabilities = _view._parent.Score(pixels.Length == _rows.Count * shape.Length ? pixels : pixels[..(_rows.Count * shape.Length)], _rows.Count, shape);
                return true;
            }

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                RowValues.CheckGetter<TValue>(this, column);
                int classes = _view._parent.ClassNames.Count;
                if (column.Name == ScoreColumnName)
                {
                    return (ValueGetter<TValue>)(object)(ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
                        value = new VBuffer<float>(_probabilities.AsSpan(CurrentRow() * classes, classes).ToArray()));
                }

                if (column.Name == PredictedLabelColumnName)
                {
                    return (ValueGetter<TValue>)(object)(ValueGetter<uint>)((ref uint value) =>
                        value = (uint)MulticlassClassificationCatalog.ArgMax(_probabilities.AsSpan(CurrentRow() * classes, classes)) + 1);
                }

                if (!_scoring)
                {
                    return _source.GetGetter<TValue>(_source.Schema[column.Name]);
                }

                int slot = Array.IndexOf(_bufferedNames, column.Name);
                return (ref TValue value) => value = (TValue)_rows[CurrentRow()][slot]!;
            }

            private int CurrentRow() => _index >= 0 && _index < _rows.Count ? _index : throw new InvalidOperationException("the cursor is not on a row");

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _source.Dispose();
                }
            }
        }
    }
}
