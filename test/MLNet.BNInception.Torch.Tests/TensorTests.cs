namespace MLNet.BNInception.Torch.Tests;

public class TensorTests
{
    [Test]
    public void EveryManagedElementTypeRoundTrips()
    {
        AssertRoundTrip(new float[] { 1.5f, -2, float.MaxValue, float.Epsilon }, ScalarType.Float32);
        AssertRoundTrip(new double[] { Math.PI, -1e300, 0 }, ScalarType.Float64);
        AssertRoundTrip(new long[] { long.MinValue, 0, long.MaxValue }, ScalarType.Int64);
        AssertRoundTrip(new int[] { int.MinValue, 7 }, ScalarType.Int32);
        AssertRoundTrip(new byte[] { 0, 128, 255 }, ScalarType.UInt8);
        AssertRoundTrip(new sbyte[] { -128, 127 }, ScalarType.Int8);
        AssertRoundTrip(new short[] { -300, 300 }, ScalarType.Int16);
        AssertRoundTrip(new bool[] { true, false, true }, ScalarType.Bool);
        AssertRoundTrip(new Half[] { (Half)0.5, (Half)(-3) }, ScalarType.Float16);
    }

    private static void AssertRoundTrip<T>(T[] values, ScalarType expected)
        where T : unmanaged
    {
        using Tensor tensor = torch.tensor(values);
        Assert.That(tensor.dtype, Is.EqualTo(expected));
        Assert.That(tensor.shape, Is.EqualTo(new long[] { values.Length }));
        Assert.That(tensor.ToArray<T>(), Is.EqualTo(values));
    }

    [Test]
    public void ShapeDataAndElementTypeAreChecked()
    {
        var error = Assert.Throws<ArgumentException>(() => torch.tensor(new float[5], 2, 3));
        Assert.That(error!.Message, Does.Contain("5 elements").And.Contain("needs 6"));

        using Tensor floats = torch.zeros([2]);
        var wrongType = Assert.Throws<InvalidOperationException>(() => floats.ToArray<double>());
        Assert.That(wrongType!.Message, Does.Contain("Float32"));

        Assert.Throws<ArgumentException>(() => torch.frombuffer(new byte[7], ScalarType.Float32, 2));
    }

    [Test]
    public void ViewsSlicesAndIndexingReadTheRightElements()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor x = torch.arange(0, 24).reshape(2, 3, 4);
        Assert.That(x[1].ToArray<long>(), Is.EqualTo(Enumerable.Range(12, 12).Select(v => (long)v)));
        Assert.That(x[1, 2].ToArray<long>(), Is.EqualTo(new long[] { 20, 21, 22, 23 }));
        Assert.That(x.slice(2, 1, 4, 2).ToArray<long>(), Is.EqualTo(new long[] { 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23 }));
        Assert.That(x.narrow(1, 1, 1).shape, Is.EqualTo(new long[] { 2, 1, 4 }));
        Assert.That(x.select(2, 3).ToArray<long>(), Is.EqualTo(new long[] { 3, 7, 11, 15, 19, 23 }));

        Tensor transposed = x.transpose(1, 2);
        Assert.That(transposed.is_contiguous(), Is.False);
        Assert.That(transposed.stride(), Is.EqualTo(new long[] { 12, 1, 4 }));
        Assert.That(transposed[0].ToArray<long>(), Is.EqualTo(new long[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }), "copies follow the view's order");

        Tensor picked = x.index_select(1, torch.tensor(new long[] { 2, 0 }));
        Assert.That(picked[0].ToArray<long>(), Is.EqualTo(new long[] { 8, 9, 10, 11, 0, 1, 2, 3 }));

        Tensor strided = torch.arange(0, 10).as_strided([3, 2], [3, 1], storage_offset: 1);
        Assert.That(strided.ToArray<long>(), Is.EqualTo(new long[] { 1, 2, 4, 5, 7, 8 }));
    }

    [Test]
    public void AsSpanWritesThroughToTheTensorWithoutCopying()
    {
        using Tensor x = torch.zeros([2, 2]);
        Span<float> span = x.AsSpan<float>();
        span[3] = 42;
        Assert.That(x.ToArray<float>(), Is.EqualTo(new float[] { 0, 0, 0, 42 }));

        using Tensor transposed = x.transpose(0, 1);
        Assert.Throws<InvalidOperationException>(() => transposed.AsSpan<float>());
    }

    [Test]
    public void ArithmeticAndReductionsMatchHandComputedValues()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor a = torch.tensor(new double[] { 1, 2, 3, 4 }, 2, 2);
        Tensor b = torch.tensor(new double[] { 10, 20 }, 1, 2);
        Assert.That((a + b).ToArray<double>(), Is.EqualTo(new double[] { 11, 22, 13, 24 }));
        Assert.That((a * 2 - 1).ToArray<double>(), Is.EqualTo(new double[] { 1, 3, 5, 7 }));
        Assert.That((1 / a).ToArray<double>(), Is.EqualTo(new[] { 1, 0.5, 1 / 3.0, 0.25 }));
        Assert.That((5 - a).ToArray<double>(), Is.EqualTo(new double[] { 4, 3, 2, 1 }));
        Assert.That(a.sum().item<double>(), Is.EqualTo(10));
        Assert.That(a.mean([0]).ToArray<double>(), Is.EqualTo(new double[] { 2, 3 }));
        Assert.That(a.var().item<double>(), Is.EqualTo(5.0 / 3).Within(1e-15));
        Assert.That(a.var(unbiased: false).item<double>(), Is.EqualTo(1.25).Within(1e-15));
        Assert.That(a.matmul(a).ToArray<double>(), Is.EqualTo(new double[] { 7, 10, 15, 22 }));
        Assert.That(a.argmax(1).ToArray<long>(), Is.EqualTo(new long[] { 1, 1 }));
        (Tensor values, Tensor indices) = torch.tensor(new float[] { 3, 9, 1, 7 }).topk(2);
        Assert.That(values.ToArray<float>(), Is.EqualTo(new float[] { 9, 7 }));
        Assert.That(indices.ToArray<long>(), Is.EqualTo(new long[] { 1, 3 }));
        Tensor integers = torch.tensor(new long[] { 1, 2 }) + 1;
        Assert.That(integers.dtype, Is.EqualTo(ScalarType.Int64), "int64 + whole number stays int64, as in PyTorch");
        Tensor nonFinite = torch.tensor(new float[] { 1, float.NaN, float.PositiveInfinity }).isfinite();
        Assert.That(nonFinite.ToArray<bool>(), Is.EqualTo(new[] { true, false, false }));
    }

    [Test]
    public void DisposeScopeFreesWhatItOwnsAndKeepsWhatIsMovedOut()
    {
        long before = torch.LiveTensorCount;
        Tensor kept;
        Tensor inner;
        using (DisposeScope outer = torch.NewDisposeScope())
        {
            using (DisposeScope scope = torch.NewDisposeScope())
            {
                Tensor a = torch.ones([3]);
                Tensor b = a * 2;
                kept = (b + 1).DetachFromDisposeScope();
                inner = (a + b).MoveToOuterDisposeScope();
                Assert.That(scope.Count, Is.EqualTo(2));
                Assert.That(torch.LiveTensorCount, Is.EqualTo(before + 4));
            }

            Assert.That(inner.IsDisposed, Is.False, "moved to the outer scope");
            Assert.That(outer.Count, Is.EqualTo(1));
        }

        Assert.That(inner.IsDisposed, Is.True, "disposed with the outer scope");
        Assert.That(kept.ToArray<float>(), Is.EqualTo(new float[] { 3, 3, 3 }));
        kept.Dispose();
        Assert.That(torch.LiveTensorCount, Is.EqualTo(before));
    }

    [Test]
    public void DisposingAnOuterScopeClosesInnerScopesLeftOpen()
    {
        long before = torch.LiveTensorCount;
        DisposeScope outer = torch.NewDisposeScope();
        _ = torch.NewDisposeScope();
        _ = torch.ones([2]);
        outer.Dispose();
        Assert.That(torch.LiveTensorCount, Is.EqualTo(before));
        using Tensor afterwards = torch.ones([1]);
        Assert.That(afterwards.OwningScope, Is.Null, "no scope is left open");
    }

    [Test]
    public void CatStackAndWhere()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor a = torch.tensor(new float[] { 1, 2 });
        Tensor b = torch.tensor(new float[] { 3, 4 });
        Assert.That(torch.cat([a, b]).ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        Assert.That(torch.stack([a, b], dim: 1).ToArray<float>(), Is.EqualTo(new float[] { 1, 3, 2, 4 }));
        Assert.That(torch.where(a.gt(1.5), a, b).ToArray<float>(), Is.EqualTo(new float[] { 3, 2 }));
    }
}
