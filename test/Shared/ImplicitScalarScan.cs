using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Finds the code of ours that hands TorchSharp an implicit native <see cref="Scalar"/>, by reading
/// the IL of every method. TorchSharp 0.107 turns .NET numbers into Scalars that only a finalizer
/// frees, and reads their handle after its last use of the object, so a garbage collection at the
/// wrong moment frees a Scalar that a native call is about to read ("Unknown scalar type", or a
/// wrong number). Upstream: dotnet/TorchSharp#1434 and #1496 (dispose implicit Scalars), open; when
/// one is released and taken up, this scan can go.
/// </summary>
/// <remarks>
/// Two ways in: our IL calls <c>Scalar.op_Implicit</c> itself (<c>t.add_(1)</c>, <c>t.mul(0.5)</c>),
/// or calls a TorchSharp method that does so inside, directly or through other TorchSharp methods
/// (<c>square()</c> is <c>pow(2)</c>, <c>add(Tensor)</c> is <c>add(t, 1)</c>). A virtual call of
/// ours is followed into every TorchSharp override (<c>optimizer.step()</c> into <c>SGD.step</c>).
/// Not followed: a TorchSharp module's <c>forward</c> reached through <c>Module.call</c>, which
/// dispatches inside TorchSharp on a type the call does not name. BatchNorm's is one that makes
/// Scalars, which is why <c>ConvolutionBlock</c> runs batch normalization itself.
/// </remarks>
internal static class ImplicitScalarScan
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(field => (OpCode)field.GetValue(null)!)
        .ToDictionary(code => code.Value);

    private static readonly Lazy<Dictionary<MethodBase, string>> TorchSharpMakers = new(FindTorchSharpMakers);

    // TorchSharp's overrides of each virtual method, by the method they override.
    private static readonly Lazy<Dictionary<MethodBase, MethodBase[]>> TorchSharpOverrides = new(() => MethodsOf(typeof(Scalar).Assembly)
        .OfType<MethodInfo>()
        .Where(method => method.IsVirtual && method.GetBaseDefinition() != method)
        .GroupBy(method => (MethodBase)Generic(method.GetBaseDefinition()))
        .ToDictionary(group => group.Key, group => group.Cast<MethodBase>().ToArray()));

    /// <summary>
    /// Every place in <paramref name="assembly"/> that makes an implicit Scalar for TorchSharp, as
    /// "our method → what it calls (→ how that makes one)"; methods marked
    /// <see cref="ReferencePathAttribute"/> (run without collections) are passed over.
    /// </summary>
    public static IReadOnlyList<string> Find(Assembly assembly)
    {
        var findings = new List<string>();
        foreach (MethodBase method in MethodsOf(assembly).Where(method => !method.IsDefined(typeof(ReferencePathAttribute), inherit: false)))
        {
            foreach (MethodBase callee in Callees(method).Distinct())
            {
                if (IsImplicitScalar(callee))
                {
                    findings.Add($"{Describe(method)} → {Describe(callee)}");
                }
                else if (callee.DeclaringType?.Assembly == typeof(Scalar).Assembly && TorchSharpMakers.Value.TryGetValue(Generic(callee), out string? how))
                {
                    findings.Add($"{Describe(method)} → {how}");
                }
                else if (callee.IsVirtual && TorchSharpOverrides.Value.GetValueOrDefault(Generic(callee)) is { } overrides)
                {
                    // A virtual call of ours may land in any TorchSharp override (optimizer.step() in SGD.step()).
                    foreach (MethodBase implementation in overrides)
                    {
                        if (TorchSharpMakers.Value.TryGetValue(implementation, out string? through))
                        {
                            findings.Add($"{Describe(method)} → {Describe(callee)}, overridden by {through}");
                        }
                    }
                }
            }
        }

        return findings.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Fails the test with every place <see cref="Find"/> reports in <paramref name="assembly"/>, one a line.</summary>
    public static void AssertNoneIn(Assembly assembly)
    {
        IReadOnlyList<string> found = Find(assembly);
        Assert.That(found, Is.Empty, "\n" + string.Join("\n", found));
    }

    private static bool IsImplicitScalar(MethodBase method) => method.DeclaringType == typeof(Scalar) && method.Name == "op_Implicit";

    // TorchSharp methods that make an implicit Scalar, each with the chain that shows how.
    private static Dictionary<MethodBase, string> FindTorchSharpMakers()
    {
        Assembly torchSharp = typeof(Scalar).Assembly;
        var makers = new Dictionary<MethodBase, string>();
        var callers = new Dictionary<MethodBase, List<MethodBase>>();
        foreach (MethodBase method in MethodsOf(torchSharp))
        {
            foreach (MethodBase callee in Callees(method).Distinct())
            {
                if (IsImplicitScalar(callee))
                {
                    makers.TryAdd(method, $"{Describe(method)}, which makes one");
                }
                else if (callee.DeclaringType?.Assembly == torchSharp)
                {
                    MethodBase target = Generic(callee);
                    if (!callers.TryGetValue(target, out List<MethodBase>? list))
                    {
                        callers[target] = list = [];
                    }

                    list.Add(method);
                }
            }
        }

        // Whatever calls a maker makes one too.
        var pending = new Queue<MethodBase>(makers.Keys);
        while (pending.TryDequeue(out MethodBase? maker))
        {
            foreach (MethodBase caller in callers.GetValueOrDefault(maker) ?? [])
            {
                if (makers.TryAdd(caller, $"{Describe(caller)} → {makers[maker]}"))
                {
                    pending.Enqueue(caller);
                }
            }
        }

        return makers;
    }

    private static MethodBase Generic(MethodBase method) =>
        method is MethodInfo { IsGenericMethod: true, IsGenericMethodDefinition: false } info ? info.GetGenericMethodDefinition() : method;

    private static IEnumerable<MethodBase> MethodsOf(Assembly assembly)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException partial)
        {
            types = partial.Types.OfType<Type>().ToArray();
        }

        return types.SelectMany(type => type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)));
    }

    // The methods a body calls (call, callvirt, newobj, ldftn, ldvirtftn), read from its IL.
    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        Type[]? typeArguments = method.DeclaringType is { IsGenericType: true } type ? type.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int at = 0;
        while (at < il.Length)
        {
            OpCode code = il[at] == 0xFE ? OpCodesByValue[(short)(0xFE00 | il[at + 1])] : OpCodesByValue[il[at]];
            at += code.Size;
            if (code.OperandType == OperandType.InlineMethod)
            {
                MethodBase? callee = null;
                try
                {
                    callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, at), typeArguments, methodArguments);
                }
                catch (ArgumentException)
                {
                    // A vararg or otherwise unresolvable reference: not one of TorchSharp's.
                }

                if (callee is not null)
                {
                    yield return callee;
                }
            }

            at += code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
                _ => 4,
            };
        }
    }

    private static string Describe(MethodBase method)
    {
        string type = method.DeclaringType is null ? "" : method.DeclaringType.FullName ?? method.DeclaringType.Name;
        string parameters = string.Join(", ", method.GetParameters().Select(parameter => parameter.ParameterType.Name));
        return $"{type}.{method.Name}({parameters})";
    }
}
