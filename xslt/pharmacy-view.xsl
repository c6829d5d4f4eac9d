<?xml version="1.0" encoding="UTF-8"?>
<!--
  pharmacy-view.xsl - what a pharmacy may see of a case: the one place
  where the redaction of DOMAIN.md (act 2016:526) happens. Applied to the
  output of case-view.xsl, and to nothing else, before any byte of a case
  reaches a pharmacy.

  Removed:
  - the treatment indication (MedicationRequest.reasonCode,
    reasonReference), the motivation (reasons and text: extension
    klas-motivation) and notes of the MedicationRequest;
  - the narrative (text) of every resource: it is a free rendering of the
    resource, the motivation's included, and cannot be redacted inside;
  - every resource labelled hidden-from-pharmacy (meta.security, system
    klas-security), whether a Bundle entry or contained, and every
    element that refers to one;
  - the narrative (text) of every resource: an EHR's generated narrative
    summarises the resource, indication and motivation included;
  - Communication and CommunicationRequest payloads addressed to others
    are not part of a case view and so never reach here.
  The MedicationRequest is labelled REDACTED (v3-ObservationValue) so a
  reader knows that something was left out.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:f="http://hl7.org/fhir"
    xmlns="http://hl7.org/fhir"
    exclude-result-prefixes="f">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>


  <!-- Type/id of every hidden resource in the Bundle. -->
  <xsl:key name="hidden" use="concat(local-name(), '/', f:id/@value)"
      match="/f:Bundle/f:entry/f:resource/*[f:meta/f:security[f:system/@value = 'http://klasgw.org/fhir/CodeSystem/klas-security' and f:code/@value = 'hidden-from-pharmacy']]"/>

  <xsl:template match="@* | node()">
    <xsl:copy><xsl:apply-templates select="@* | node()"/></xsl:copy>
  </xsl:template>

  <xsl:template match="f:entry[f:resource/*/f:meta/f:security[f:system/@value = 'http://klasgw.org/fhir/CodeSystem/klas-security' and f:code/@value = 'hidden-from-pharmacy']]"/>
  <xsl:template match="f:contained[*/f:meta/f:security[f:system/@value = 'http://klasgw.org/fhir/CodeSystem/klas-security' and f:code/@value = 'hidden-from-pharmacy']]"/>
  <xsl:template match="*[f:reference[key('hidden', @value)]]"/>

  <xsl:template match="f:resource/*/f:text | f:contained/*/f:text"/>

  <!-- Of LV's requests and the supplements, a pharmacy sees those between
       LV and pharmacies: a request to a prescriber, or a prescriber's
       answer, may discuss the indication. -->
  <xsl:template match="f:entry[f:resource/f:CommunicationRequest[not(f:recipient/f:reference[starts-with(@value, 'Organization/')])]]"/>
  <xsl:template match="f:entry[f:resource/f:Communication[not(starts-with(f:sender/f:reference/@value, 'Organization/'))]]"/>

  <xsl:template match="f:MedicationRequest/f:reasonCode | f:MedicationRequest/f:reasonReference | f:MedicationRequest/f:note | f:MedicationRequest/f:extension[@url = 'http://klasgw.org/fhir/StructureDefinition/klas-motivation']"/>

  <xsl:template match="f:MedicationRequest">
    <MedicationRequest>
      <xsl:apply-templates select="f:id"/>
      <meta>
        <xsl:apply-templates select="f:meta/f:extension | f:meta/f:versionId | f:meta/f:lastUpdated | f:meta/f:source | f:meta/f:profile | f:meta/f:security"/>
        <security>
          <system value="http://terminology.hl7.org/CodeSystem/v3-ObservationValue"/>
          <code value="REDACTED"/>
          <display value="redacted"/>
        </security>
        <xsl:apply-templates select="f:meta/f:tag"/>
      </meta>
      <xsl:apply-templates select="*[not(self::f:id) and not(self::f:meta)]"/>
    </MedicationRequest>
  </xsl:template>
</xsl:stylesheet>
