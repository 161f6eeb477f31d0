using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DataViews;

namespace MLNet.BNInception.Scoring;

/// <summary>The current row's probabilities, one per class: a view of the scored batch, valid until the cursor moves on.</summary>
internal delegate ReadOnlySpan<float> CurrentProbabilities();

/// <summary>The getters of Score and PredictedLabel, from a row's probabilities: shared by the batched cursor and the one-row mapper.</summary>
internal static class PredictionValues
{
    /// <summary>
    /// The getter of <paramref name="column"/>, Score (at <paramref name="scoreIndex"/>) or
    /// PredictedLabel (just after it), reading the current row's probabilities from <paramref name="probabilities"/>.
    /// </summary>
    public static ValueGetter<TValue> Getter<TValue>(DataViewSchema.Column column, int scoreIndex, CurrentProbabilities probabilities)
    {
        Delegate getter = column.Index == scoreIndex
            ? (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
            {
                // The one copy of a row's scores: from the batch into the caller's buffer, whose arrays the
                // editor reuses when they are large enough. The batch's array is overwritten by the next
                // batch, so what the caller holds must never be a view of it.
                ReadOnlySpan<float> row = probabilities();
                VBufferEditor<float> editor = VBufferEditor.Create(ref value, row.Length);
                row.CopyTo(editor.Values);
                value = editor.Commit();
            })
            : (ValueGetter<uint>)((ref uint value) => value = (uint)(ArgMax(probabilities()) + 1));
        return getter as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column {column.Name} is {column.Type}; it cannot be read as {GetterTypeName.Of(typeof(TValue))}.");
    }

    // The highest probability's class, the first of equals, as ML.NET's multiclass scorers pick it:
    // NaN is passed over, and a row whose probabilities are all NaN (a pixel that was NaN or
    // infinite makes them so) has no class, -1, which PredictedLabel gives as the missing key 0.
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsNaN(values[i]) && (best < 0 || values[i] > values[best]))
            {
                best = i;
            }
        }

        return best;
    }
}
