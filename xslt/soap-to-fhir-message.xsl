<?xml version="1.0" encoding="UTF-8"?>
<!--
  soap-to-fhir-message.xsl - the body of an inbound KLAS SOAP request
  (SubmitLicenseMotivation, SupplementLicenseMotivation,
  CreateLicenseApplication, ReportCaseRegistered, RequestSupplement,
  ReportDecision; already valid against its Responder XSD) to the FHIR R4
  message Bundle that the pipeline processes, exactly as REST would.

  Input: the request element as document root. Parameters:
    events  the klas-event codes this interaction carries, space-separated
            and padded (" motivation-submit ").
  Output: the Bundle, with Bundle.identifier taken from messageId when the
  Bundle has none; or, when the envelope fields and the Bundle disagree, a
  <e:refusal field="..."> naming the field (the front answers
  VALIDATION_ERROR). Copies, never invents clinical content.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:f="http://hl7.org/fhir"
    xmlns:e="urn:klasgw:refusal"
    exclude-result-prefixes="f">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:param name="events" select="''"/>

  <xsl:variable name="refsys" select="'http://klasgw.org/fhir/NamingSystem/referensnummer'"/>
  <xsl:variable name="bundle" select="/*/*/f:Bundle[1]"/>
  <xsl:variable name="msgid" select="string(/*/*[local-name()='messageId'])"/>
  <xsl:variable name="ref" select="string(/*/*[local-name()='referenceNumber'])"/>
  <xsl:variable name="event" select="string($bundle/f:entry[1]/f:resource/f:MessageHeader/f:eventCoding/f:code/@value)"/>
  <xsl:variable name="bref" select="string(($bundle//f:identifier[f:system/@value=$refsys]/f:value/@value)[1])"/>

  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="not($bundle)">
        <e:refusal field="{local-name(/*/*[f:*][1])}">ett FHIR Bundle (http://hl7.org/fhir) krävs / a FHIR Bundle (http://hl7.org/fhir) is required</e:refusal>
      </xsl:when>
      <xsl:when test="$events != '' and not(contains($events, concat(' ', $event, ' ')))">
        <e:refusal field="{local-name($bundle/..)}/Bundle.entry[0].resource.eventCoding">händelsen '<xsl:value-of select="$event"/>' hör inte till denna tjänst (väntat:<xsl:value-of select="$events"/>) / event '<xsl:value-of select="$event"/>' does not belong to this interaction (expected:<xsl:value-of select="$events"/>)</e:refusal>
      </xsl:when>
      <xsl:when test="$ref != '' and $bref != '' and $ref != $bref">
        <e:refusal field="referenceNumber">referensnumret skiljer sig från meddelandets (<xsl:value-of select="$bref"/>) / the reference number differs from the message's (<xsl:value-of select="$bref"/>)</e:refusal>
      </xsl:when>
      <xsl:when test="$msgid != '' and $bundle/f:identifier/f:value/@value and $bundle/f:identifier/f:value/@value != $msgid">
        <e:refusal field="messageId">messageId skiljer sig från Bundle.identifier / messageId differs from Bundle.identifier</e:refusal>
      </xsl:when>
      <xsl:otherwise>
        <xsl:apply-templates select="$bundle" mode="bundle"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Bundle.identifier sits after id, meta, implicitRules, language. -->
  <xsl:template match="f:Bundle" mode="bundle">
    <Bundle xmlns="http://hl7.org/fhir">
      <xsl:copy-of select="f:id | f:meta | f:implicitRules | f:language | f:identifier"/>
      <xsl:if test="not(f:identifier) and $msgid != ''">
        <identifier>
          <system value="urn:ietf:rfc:3986"/>
          <value value="{$msgid}"/>
        </identifier>
      </xsl:if>
      <xsl:copy-of select="*[not(self::f:id or self::f:meta or self::f:implicitRules or self::f:language or self::f:identifier)]"/>
    </Bundle>
  </xsl:template>
</xsl:stylesheet>
